// Package scheduler is being written; see its issue.
package scheduler
