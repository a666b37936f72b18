// Package elfdeps finds what an ELF executable needs from the file system
// to start: its program interpreter (PT_INTERP) and the shared libraries
// of its DT_NEEDED entries, transitively, resolved the way glibc's ld.so
// resolves them on Debian. The echo workload copies them into its FROM
// scratch image, so that a socktui built with cgo (what `go install` makes
// wherever gcc is installed) runs there as a static one does; the tests'
// lighttpd image (authoring/authoringtest) is built the same way from
// Debian's lighttpd.
//
// It reads files only; it never runs the loader (ldd would).
package elfdeps

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File is one file the executable needs.
type File struct {
	// Path is where the loader finds it: the interpreter's path as
	// PT_INTERP names it, or a library's path in the folder it was found
	// in. An image must hold the file at this path.
	Path string
	// Source is the file to copy: Path with its symbolic links resolved.
	Source string
}

// LdSoConf is the file ldconfig builds ld.so.cache from: its folders are
// searched after an object's own paths and before the default ones.
const LdSoConf = "/etc/ld.so.conf"

// ErrNotFound is wrapped when a needed library is in no folder searched.
var ErrNotFound = errors.New("shared library not found")

// Needs returns the interpreter and the shared libraries the executable at
// exe needs, the interpreter first, each file once. A static executable
// needs none: Needs returns nil.
//
// Libraries are searched as ld.so does, minus LD_LIBRARY_PATH and
// LD_PRELOAD (the image does not have this process's environment): the
// needing object's DT_RPATH (when it has no DT_RUNPATH) and its loaders'
// DT_RPATH, its DT_RUNPATH, the ld.so.conf folders (what ld.so.cache is
// built from), then the default folders of the object's architecture
// (/lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu, ..., /lib, /usr/lib).
// A candidate of another ELF class or machine is skipped, as ld.so skips
// it. $ORIGIN in a path is the needing object's folder.
func Needs(exe string) ([]File, error) { return needs(exe, LdSoConf) }

func needs(exe, conf string) ([]File, error) {
	exe, err := filepath.Abs(exe)
	if err != nil {
		return nil, err
	}
	top, err := open(exe)
	if err != nil {
		return nil, err
	}
	if top.interp == "" && len(top.needed) == 0 {
		return nil, nil
	}
	var out []File
	seen := map[string]bool{} // Path
	add := func(path string) error {
		if seen[path] {
			return nil
		}
		seen[path] = true
		src, err := filepath.EvalSymlinks(path)
		if err != nil {
			return err
		}
		out = append(out, File{Path: path, Source: src})
		return nil
	}
	loaded := map[string]bool{} // sonames (and needed names) already mapped
	if top.interp != "" {
		ld, err := open(top.interp)
		if err == nil {
			err = add(top.interp)
		}
		if err != nil {
			return nil, fmt.Errorf("interpreter of %s: %w", exe, err)
		}
		// The loader is mapped already: a library that needs it by its
		// soname (libc does) gets it, not a second copy.
		loaded[filepath.Base(top.interp)] = true
		if ld.soname != "" {
			loaded[ld.soname] = true
		}
	}
	confDirs := confDirs(conf)
	// Breadth first, as ld.so loads: the executable's needs, then theirs.
	type pending struct {
		obj     *object
		loaders [][]string // DT_RPATH of the objects that loaded obj
	}
	queue := []pending{{obj: top}}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		// An object with a DT_RUNPATH searches no DT_RPATH at all, and
		// lends none to what it loads.
		own := p.obj.rpath
		if len(p.obj.runpath) > 0 {
			own = nil
		}
		chain := append([][]string{own}, p.loaders...)
		rpaths := chain
		if len(p.obj.runpath) > 0 {
			rpaths = nil
		}
		for _, name := range p.obj.needed {
			if loaded[name] {
				continue
			}
			path, lib, err := find(name, p.obj, rpaths, confDirs)
			if err != nil {
				return nil, fmt.Errorf("%s, needed by %s: %w", name, p.obj.path, err)
			}
			loaded[name] = true
			if lib.soname != "" {
				loaded[lib.soname] = true
			}
			if err := add(path); err != nil {
				return nil, fmt.Errorf("%s, needed by %s: %w", name, p.obj.path, err)
			}
			queue = append(queue, pending{obj: lib, loaders: chain})
		}
	}
	return out, nil
}

// object is what Needs reads of one ELF file.
type object struct {
	path           string
	class          elf.Class
	machine        elf.Machine
	interp         string
	needed         []string
	rpath, runpath []string // $ORIGIN expanded
	soname         string
}

func open(path string) (*object, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	o := &object{path: path, class: f.Class, machine: f.Machine}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return nil, fmt.Errorf("%s: reading PT_INTERP: %w", path, err)
			}
			o.interp = strings.TrimRight(string(b), "\x00")
		}
	}
	if o.needed, err = f.DynString(elf.DT_NEEDED); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	origin := filepath.Dir(path)
	paths := func(tag elf.DynTag) ([]string, error) {
		vals, err := f.DynString(tag)
		var dirs []string
		for _, v := range vals {
			for _, d := range strings.Split(v, ":") {
				d = strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", origin), "$ORIGIN", origin)
				if d != "" {
					dirs = append(dirs, d)
				}
			}
		}
		return dirs, err
	}
	if o.rpath, err = paths(elf.DT_RPATH); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if o.runpath, err = paths(elf.DT_RUNPATH); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sn, err := f.DynString(elf.DT_SONAME); err == nil && len(sn) > 0 {
		o.soname = sn[0]
	}
	return o, nil
}

// find resolves one DT_NEEDED name of obj.
func find(name string, obj *object, rpaths [][]string, confDirs []string) (string, *object, error) {
	if strings.Contains(name, "/") {
		// A path: ld.so takes it as it is (relative to the working
		// folder, which in the image is /).
		p := name
		if !filepath.IsAbs(p) {
			p = "/" + p
		}
		lib, err := open(p)
		return p, lib, err
	}
	var dirs []string
	for _, r := range rpaths {
		dirs = append(dirs, r...)
	}
	dirs = append(dirs, obj.runpath...)
	dirs = append(dirs, confDirs...)
	dirs = append(dirs, defaultDirs(obj.class, obj.machine)...)
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if !filepath.IsAbs(p) {
			continue
		}
		lib, err := open(p)
		if err != nil {
			continue // missing, or not ELF: ld.so goes on too
		}
		if lib.class != obj.class || lib.machine != obj.machine {
			continue // another architecture's copy (/lib32, foreign multiarch)
		}
		return p, lib, nil
	}
	return "", nil, fmt.Errorf("%w in %s", ErrNotFound, strings.Join(dirs, ":"))
}

// confDirs reads the folders of conf and the files it includes, in order,
// as ldconfig does; a missing file has none.
func confDirs(conf string) []string {
	var dirs []string
	seen := map[string]bool{}
	var read func(conf string, depth int)
	read = func(conf string, depth int) {
		if depth > 8 || seen[conf] {
			return
		}
		seen[conf] = true
		b, err := os.ReadFile(conf)
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			line, _, _ = strings.Cut(line, "#")
			line = strings.TrimSpace(line)
			switch {
			case line == "":
			case strings.HasPrefix(line, "include") && len(line) > len("include") && (line[7] == ' ' || line[7] == '\t'):
				for _, pat := range strings.Fields(line[len("include"):]) {
					if !filepath.IsAbs(pat) {
						pat = filepath.Join(filepath.Dir(conf), pat)
					}
					matches, _ := filepath.Glob(pat)
					slices.Sort(matches)
					for _, m := range matches {
						read(m, depth+1)
					}
				}
			case strings.HasPrefix(line, "hwcap"):
			default:
				for _, d := range strings.FieldsFunc(line, func(r rune) bool { return r == ':' || r == ',' || r == ' ' || r == '\t' }) {
					if filepath.IsAbs(d) && !seen["dir:"+d] {
						seen["dir:"+d] = true
						dirs = append(dirs, filepath.Clean(d))
					}
				}
			}
		}
	}
	read(conf, 0)
	return dirs
}

// defaultDirs are ld.so's built-in folders on Debian, whose glibc puts the
// multiarch folders first.
func defaultDirs(class elf.Class, machine elf.Machine) []string {
	var dirs []string
	if t := multiarch(class, machine); t != "" {
		dirs = append(dirs, "/lib/"+t, "/usr/lib/"+t)
	}
	if class == elf.ELFCLASS64 {
		dirs = append(dirs, "/lib64", "/usr/lib64")
	}
	return append(dirs, "/lib", "/usr/lib")
}

// multiarch is Debian's triplet for an ELF class and machine, "" when
// unknown.
func multiarch(class elf.Class, machine elf.Machine) string {
	switch {
	case machine == elf.EM_X86_64 && class == elf.ELFCLASS64:
		return "x86_64-linux-gnu"
	case machine == elf.EM_X86_64 && class == elf.ELFCLASS32:
		return "x86_64-linux-gnux32"
	case machine == elf.EM_AARCH64:
		return "aarch64-linux-gnu"
	case machine == elf.EM_386:
		return "i386-linux-gnu"
	case machine == elf.EM_ARM:
		return "arm-linux-gnueabihf"
	case machine == elf.EM_PPC64:
		return "powerpc64le-linux-gnu"
	case machine == elf.EM_S390:
		return "s390x-linux-gnu"
	case machine == elf.EM_RISCV && class == elf.ELFCLASS64:
		return "riscv64-linux-gnu"
	case machine == elf.EM_LOONGARCH:
		return "loongarch64-linux-gnu"
	case machine == elf.EM_MIPS && class == elf.ELFCLASS64:
		return "mips64el-linux-gnuabi64"
	}
	return ""
}

// CopyFile copies src's contents to dst, an executable regular file,
// creating dst's folders: how an image's root filesystem gets a program
// and the files Needs lists for it.
func CopyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
