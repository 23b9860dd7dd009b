// Package proxy is being written; see its issue.
package proxy
