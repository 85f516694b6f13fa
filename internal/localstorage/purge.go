package localstorage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// inputFiles are the files of the default key-value store that purging keeps:
// crawlee keeps INPUT, INPUT.json, INPUT.bin and INPUT.txt; INPUT's record
// metadata is kept too, as the Python SDK cannot read a record without it.
var inputFiles = map[string]bool{
	"INPUT": true, "INPUT.json": true, "INPUT.bin": true, "INPUT.txt": true,
	"INPUT.__metadata__.json": true,
}

// purge does what crawlee's MemoryStorage.purge does on start: it removes the
// default dataset and the default request queue, every record of the default
// key-value store except the input, and the directories crawlee leaves when
// interrupted while purging (__CRAWLEE_TEMPORARY_*, and __OLD_* among
// key-value stores). Named storages are kept. A directory is renamed out of
// the way before its removal, so a kill mid-purge never leaves a partly
// emptied storage under its real name.
func purge(dir string) error {
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
				if err := purgeRecords(filepath.Join(base, name)); err != nil {
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

func purgeRecords(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if inputFiles[e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
