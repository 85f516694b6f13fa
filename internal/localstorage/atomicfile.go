package localstorage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// tempPrefix starts the name of every temporary file. '#' cannot appear in a
// record key, a storage name, a dataset item or a request file name, so a
// temporary file never shadows a real one, and crawlee skips dot files in
// request queues.
const tempPrefix = ".#tmp-"

var tempCounter atomic.Uint64

// maxFileName is the longest file name most file systems (ext4, APFS, NTFS) take.
const maxFileName = 255

// writeFileAtomic writes data to dir/name through a temporary file in dir that
// is renamed over the real name, so readers see the old content or the new
// one, never a part. With durable it syncs the file before the rename and the
// directory after it, so the write also survives a power loss.
func writeFileAtomic(dir, name string, data []byte, durable bool) error {
	tmp, _, err := writeTemp(dir, bytes.NewReader(data), int64(len(data)), "", durable)
	if err != nil {
		return err
	}
	return commitTemp(tmp, dir, name, durable)
}

// writeFileNew writes data to dir/name, which must not exist, directly under
// its name: a creation, a write and a close, no temporary file or rename. It
// is for files that are created once and never overwritten (dataset items),
// where a kill mid-write can only leave the one file being written partial,
// no file that was there before; Dataset.load removes such a file. A failed
// write removes the file. With durable it syncs the file and the directory.
func writeFileNew(dir, name string, data []byte, durable bool) error {
	if _, err := createFile(filepath.Join(dir, name), bytes.NewReader(data), int64(len(data)), "", durable); err != nil {
		return err
	}
	if durable {
		return syncDir(dir)
	}
	return nil
}

// writeTemp copies r into a new temporary file in dir and returns its path
// and size. More than limit bytes fail with a *FieldError on field, and the
// temporary file is removed.
func writeTemp(dir string, r io.Reader, limit int64, field string, durable bool) (string, int64, error) {
	tmp := filepath.Join(dir, fmt.Sprintf("%s%d-%d", tempPrefix, os.Getpid(), tempCounter.Add(1)))
	n, err := createFile(tmp, r, limit, field, durable)
	if err != nil {
		return "", 0, err
	}
	return tmp, n, nil
}

// createFile copies r into a new file at path, which must not exist, and
// returns its size; with durable it syncs the file. More than limit bytes
// fail with a *FieldError on field. On a failure the file is removed.
func createFile(path string, r io.Reader, limit int64, field string, durable bool) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	var n int64
	if br, ok := r.(*bytes.Reader); ok && br.Size() <= limit {
		// One write, no copy buffer: the path of every Set and Push.
		n, err = br.WriteTo(f)
	} else {
		n, err = io.Copy(f, io.LimitReader(r, limit+1))
	}
	if err == nil && n > limit {
		err = &FieldError{Field: field, Reason: fmt.Sprintf("is over the limit of %d bytes", limit), Err: ErrTooLarge}
	}
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return 0, err
	}
	return n, nil
}

// commitTemp renames the temporary file tmp to dir/name.
func commitTemp(tmp, dir, name string, durable bool) error {
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	if durable {
		return syncDir(dir)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// isTemp reports whether a directory entry is a temporary file of ours.
func isTemp(name string) bool { return strings.HasPrefix(name, tempPrefix) }

// removeTemps removes temporary files left in dir by a process killed mid-write.
func removeTemps(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if isTemp(e.Name()) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// readFileLimit reads a whole file, failing with a *FieldError when it is over
// limit bytes.
func readFileLimit(path, field string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := 512
	if fi, err := f.Stat(); err == nil {
		if fi.Size() > int64(limit) {
			return nil, tooLarge(field, int(min(fi.Size(), int64(^uint(0)>>1))), limit)
		}
		size = int(fi.Size()) + 1
	}
	buf := make([]byte, 0, size)
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return nil, tooLarge(field, len(buf), limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}
