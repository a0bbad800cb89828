package server

import (
	"fmt"
	"strings"
)

// systemPrefix starts the paths of the server's own functions.
const systemPrefix = "_system/"

// canonicalPath is Convex's canonicalization of a function path (the
// client's canonicalizeUdfPath): "module:function", where a path without
// a colon names the module's default export and a ".js" at the end of the
// module is dropped. "tasks" is "tasks:default", "tasks.js:list" is
// "tasks:list", "a/b:c" stays as it is.
func canonicalPath(p string) string {
	module, function := p, "default"
	if i := strings.LastIndexByte(p, ':'); i >= 0 {
		module, function = p[:i], p[i+1:]
	}
	module = strings.TrimSuffix(module, ".js")
	return module + ":" + function
}

// notFound is the message for a path with no public function, as Convex
// words it; an internal function gets it too, so that its name does not
// leak to untrusted callers.
func notFound(p string) string {
	return fmt.Sprintf("Could not find public function for '%s'. Did you forget to register it in the livedb.Registry given to server.New?", p)
}
