// Package join is being written; see its issue.
package join
