package localstorage

import "strings"

// extensions maps a content type (lower case, without parameters) to the file
// extension crawlee gives a record of that type: the first extension the
// mime-types package (mime-db 1.52) lists for it. Others get "bin".
var extensions = map[string]string{
	"application/json":         "json",
	"text/plain":               "txt",
	"text/html":                "html",
	"application/octet-stream": "bin",
	"text/csv":                 "csv",
	"application/xml":          "xml",
	"text/xml":                 "xml",
	"image/png":                "png",
	"image/jpeg":               "jpeg",
	"image/gif":                "gif",
	"image/webp":               "webp",
	"image/svg+xml":            "svg",
	"application/pdf":          "pdf",
	"application/javascript":   "js",
	"text/css":                 "css",
	"application/zip":          "zip",
	"text/markdown":            "markdown",
	"application/ld+json":      "jsonld",
	"application/gzip":         "gz",
	"image/x-icon":             "ico",
	"text/calendar":            "ics",
}

// contentTypes maps a file extension to the content type crawlee reads a
// record file as (mime-types' contentType). Others are read as text/plain,
// as crawlee does.
var contentTypes = map[string]string{
	"json":     "application/json; charset=utf-8",
	"txt":      "text/plain; charset=utf-8",
	"html":     "text/html; charset=utf-8",
	"htm":      "text/html; charset=utf-8",
	"bin":      "application/octet-stream",
	"csv":      "text/csv; charset=utf-8",
	"xml":      "application/xml",
	"png":      "image/png",
	"jpeg":     "image/jpeg",
	"jpg":      "image/jpeg",
	"gif":      "image/gif",
	"webp":     "image/webp",
	"svg":      "image/svg+xml",
	"pdf":      "application/pdf",
	"js":       "application/javascript; charset=utf-8",
	"mjs":      "application/javascript; charset=utf-8",
	"css":      "text/css; charset=utf-8",
	"zip":      "application/zip",
	"md":       "text/markdown; charset=utf-8",
	"markdown": "text/markdown; charset=utf-8",
	"jsonld":   "application/ld+json",
	"gz":       "application/gzip",
	"ico":      "image/vnd.microsoft.icon",
	"ics":      "text/calendar; charset=utf-8",
}

// baseType returns a content type's type/subtype in lower case.
func baseType(contentType string) string {
	t, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(t))
}

// extensionFor returns the record file extension for a content type.
func extensionFor(contentType string) string {
	if ext, ok := extensions[baseType(contentType)]; ok {
		return ext
	}
	return "bin"
}

// contentTypeFor returns the content type of a record file with no metadata.
func contentTypeFor(ext string) string {
	if ct, ok := contentTypes[strings.ToLower(ext)]; ok {
		return ct
	}
	return "text/plain"
}
