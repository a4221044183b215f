//go:build !unix

package engine

// diskFree cannot tell the free space here.
func diskFree(string) int64 { return -1 }
