// Package manage is being written; see its issue.
package manage
