// Package localstorage is the storage a Go Actor uses off the platform: datasets,
// key-value stores and request queues kept as files in the layout of the
// official JS SDK (apify 3.x on crawlee's @crawlee/memory-storage) and the
// Apify CLI, so that a Go Actor and a JS one read each other's storage.
//
// The layout under the storage directory (APIFY_LOCAL_STORAGE_DIR, then
// CRAWLEE_STORAGE_DIR, default ./storage):
//
//	datasets/{name}/000000001.json            one item per file, nine digits from 1, tab-indented
//	datasets/{name}/__metadata__.json         id, name, itemCount and timestamps
//	key_value_stores/{name}/{key}.{ext}       the value, extension from its content type
//	key_value_stores/{name}/{key}.__metadata__.json  the content type, when the extension does not give it
//	key_value_stores/{name}/__metadata__.json
//	request_queues/{name}/{id}.json           one request per file, crawlee's shape
//	request_queues/{name}/__metadata__.json   counts and timestamps
//
// The default storages are named "default". Names follow the platform's rule
// (see ValidateName), keys too (see ValidateKey).
//
// A file that can be overwritten (a record, a request, a __metadata__.json)
// is written to a temporary file in the same directory and renamed over its
// real name, so a process killed at any point never leaves a half-written
// file under a real name; temporary files left by a kill are removed when a
// storage is opened. A dataset item file is only ever created, so it is
// written straight to its name (a rename would cost about as much as the
// creation): a kill can cut short only the file being written, whose Push had
// not returned, and opening the dataset removes it. Options.Durable adds
// fsync for power loss. Counts are rebuilt from the data files when a storage is opened, so
// a __metadata__.json that lags (it is rewritten at most once per
// Options.MetadataInterval, and by Close) loses nothing.
//
// One process owns a storage directory. Request locks are held in memory;
// whether a request is pending or handled is on disk and survives a restart,
// after which a request that was locked is pending again.
//
// Where the SDKs differ, this package follows the JS SDK's files: the Python
// SDK (crawlee-python's file-system client) stores a record as {key} with no
// extension and lists only records with a metadata file, so Python reads a
// Go store only through records it wrote itself; this package reads such
// records. Key listings are in byte order, the platform's and Python's;
// crawlee's JS sorts with localeCompare.
package localstorage
