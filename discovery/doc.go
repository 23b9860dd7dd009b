// Package discovery is being written; see its issue.
package discovery
