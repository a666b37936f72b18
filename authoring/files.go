package authoring

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Owned reports whether the file at path was written by socktui (its first
// line begins with Marker). A missing file is (false, nil).
func Owned(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	b := make([]byte, len(Marker))
	n, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	return Ours(b[:n]), nil
}

// ErrNotOurs is wrapped by the refusal to overwrite a file socktui did not
// write.
var ErrNotOurs = errors.New("not written by socktui")

// CheckOverwrite refuses, before anything is written, any of files whose
// path holds a file socktui did not write, unless force; the error wraps
// ErrRefused and ErrNotOurs and names the file.
func CheckOverwrite(files []File, force bool) error {
	if force {
		return nil
	}
	for _, f := range files {
		if _, err := os.Lstat(f.Path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		ours, err := Owned(f.Path)
		if err != nil {
			return err
		}
		if !ours {
			return fmt.Errorf("%w: %s exists and was %w; --force replaces it", ErrRefused, f.Path, ErrNotOurs)
		}
	}
	return nil
}

// Written is what Write did, so that it can be undone.
type Written struct {
	// Paths are the files written, in order.
	Paths []string
	// before holds what a replaced file held (nil: the file was new);
	// dirs are the folders Write created, deepest last.
	before map[string][]byte
	dirs   []string
}

// Write writes files (after CheckOverwrite with force), creating their
// folders, each through a temporary file renamed into place. If one fails
// it undoes the others and returns the error: it writes all or nothing.
func Write(files []File, force bool) (*Written, error) {
	if err := CheckOverwrite(files, force); err != nil {
		return nil, err
	}
	w := &Written{before: map[string][]byte{}}
	for _, f := range files {
		if err := w.write(f); err != nil {
			return nil, errors.Join(err, w.Undo())
		}
	}
	return w, nil
}

func (w *Written) write(f File) error {
	dir := filepath.Dir(f.Path)
	if err := w.mkdirAll(dir); err != nil {
		return err
	}
	old, err := os.ReadFile(f.Path)
	switch {
	case err == nil:
		w.before[f.Path] = old
	case errors.Is(err, fs.ErrNotExist):
		w.before[f.Path] = nil
	default:
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.Path)+".socktui-*")
	if err != nil {
		return err
	}
	_, err = tmp.WriteString(f.Content)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.Path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		delete(w.before, f.Path)
		return fmt.Errorf("writing %s: %w", f.Path, err)
	}
	w.Paths = append(w.Paths, f.Path)
	return nil
}

// mkdirAll creates dir and its missing parents, remembering which it made.
func (w *Written) mkdirAll(dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		w.dirs = append(w.dirs, missing[i])
	}
	return nil
}

// Undo puts back what Write changed: new files removed, replaced files
// restored, the folders it created removed when empty.
func (w *Written) Undo() error {
	if w == nil {
		return nil
	}
	var errs []error
	for i := len(w.Paths) - 1; i >= 0; i-- {
		p := w.Paths[i]
		if old := w.before[p]; old != nil {
			errs = append(errs, os.WriteFile(p, old, 0o644))
		} else if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	for i := len(w.dirs) - 1; i >= 0; i-- {
		os.Remove(w.dirs[i]) // only if empty; a folder others use stays
	}
	w.Paths = nil
	return errors.Join(errs...)
}

// RemoveOwned removes those of paths that socktui wrote and returns them;
// a file it did not write is left, and named in skipped. Missing files are
// neither.
func RemoveOwned(paths []string) (removed, skipped []string, err error) {
	var errs []error
	for _, p := range paths {
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		ours, err := Owned(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ours {
			skipped = append(skipped, p)
			continue
		}
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, skipped, errors.Join(errs...)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
