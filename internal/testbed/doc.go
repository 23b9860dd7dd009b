// Package testbed is being written; see its issue.
package testbed
