// Package list is being written; see its issue.
package list
