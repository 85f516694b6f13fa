package localstorage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// inputFiles returns the files of the default key-value store that purging
// keeps for the input record key: crawlee keeps INPUT, INPUT.json, INPUT.bin
// and INPUT.txt; the record metadata is kept too, as the Python SDK cannot
// read a record without it. The Python SDK keeps the record of the input key
// it is configured with (ACTOR_INPUT_KEY), as is done here for inputKey.
func inputFiles(inputKey string) map[string]bool {
	keep := map[string]bool{}
	keys := []string{"INPUT"}
	if inputKey != "" {
		keys = append(keys, inputKey)
	}
	for _, key := range keys {
		for _, suffix := range []string{"", ".json", ".bin", ".txt", recordMetadataSuffix} {
			keep[key+suffix] = true
		}
	}
	return keep
}

// purge does what crawlee's MemoryStorage.purge does on start: it removes the
// default dataset and the default request queue, every record of the default
// key-value store except the input, and the directories crawlee leaves when
// interrupted while purging (__CRAWLEE_TEMPORARY_*, and __OLD_* among
// key-value stores). Named storages are kept. A directory is renamed out of
// the way before its removal, so a kill mid-purge never leaves a partly
// emptied storage under its real name.
func purge(dir, inputKey string) error {
	for _, sub := range []string{datasetsDir, requestQueuesDir, keyValueStoresDir} {
		base := filepath.Join(dir, sub)
		entries, err := os.ReadDir(base)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		for _, e := range entries {
			name := e.Name()
			switch {
			case strings.HasPrefix(name, "__CRAWLEE_TEMPORARY"),
				sub == keyValueStoresDir && strings.HasPrefix(name, "__OLD"):
				if err := os.RemoveAll(filepath.Join(base, name)); err != nil {
					return err
				}
			case name == DefaultName && sub == keyValueStoresDir:
				if err := purgeRecords(filepath.Join(base, name), inputFiles(inputKey)); err != nil {
					return err
				}
			case name == DefaultName:
				if err := removeDir(base, name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func removeDir(base, name string) error {
	for n := 0; ; n++ {
		tmp := filepath.Join(base, fmt.Sprintf("__CRAWLEE_TEMPORARY_%d__", n))
		if _, err := os.Lstat(tmp); err == nil {
			continue
		}
		if err := os.Rename(filepath.Join(base, name), tmp); err != nil {
			return err
		}
		return os.RemoveAll(tmp)
	}
}

func purgeRecords(dir string, keep map[string]bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if keep[e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
