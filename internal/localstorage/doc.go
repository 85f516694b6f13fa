// Package localstorage is the storage a Go Actor uses off the platform: datasets,
// key-value stores and request queues kept as files in the layout the official
// JS SDK (crawlee's @crawlee/memory-storage), the Python SDK and the Apify CLI
// use, so that a Go Actor and a JS one read each other's storage.
//
// The layout under the storage directory (APIFY_LOCAL_STORAGE_DIR, then
// CRAWLEE_STORAGE_DIR, default ./storage):
//
//	datasets/{name}/000000001.json           one item per file, nine digits from 1
//	datasets/{name}/__metadata__.json        id, name, itemCount and timestamps
//	key_value_stores/{name}/{key}.{ext}      the record, extension from its content type
//	key_value_stores/{name}/{key}.__metadata__.json   contentType, when the extension does not give it
//	key_value_stores/{name}/__metadata__.json
//	request_queues/{name}/{id}.json          one request per file, crawlee's shape
//	request_queues/{name}/__metadata__.json  counts and timestamps
//
// Every file is written to a temporary file in the same directory and renamed
// over its real name, so a killed process never leaves a half-written file
// under a real name; leftover temporary files are removed when a storage is
// opened. One process owns a storage directory: locks on requests are held in
// memory, while whether a request is pending or handled is on disk and
// survives a restart.
package localstorage
