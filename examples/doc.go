// Package examples holds the test that builds every example program under
// this directory, runs it against the embedded local platform and checks
// what it prints; the examples themselves are the main packages below it.
package examples
