// Package pipework is being written; see its issue.
package pipework
