package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExportedNamesDocumented checks the rule of STYLE.md for every library
// package of the module (commands, examples and test data aside): every
// exported name has a doc comment that starts with its name (methods of
// exported types included).
func TestExportedNamesDocumented(t *testing.T) {
	var missing []string
	for _, dir := range libraryDirs(t) {
		fset := token.NewFileSet()
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, ".pb.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
			require.NoError(t, err)
			check := func(name string, doc *ast.CommentGroup, pos token.Pos) {
				if !ast.IsExported(name) {
					return
				}
				text := ""
				if doc != nil {
					text = doc.Text()
				}
				// "Name ...", "A Name ...", "An Name ..." or "The Name ..." as Go doc allows.
				words := strings.Fields(text)
				ok := len(words) > 0 && (words[0] == name || len(words) > 1 && (words[0] == "A" || words[0] == "An" || words[0] == "The") && words[1] == name)
				if !ok {
					missing = append(missing, fset.Position(pos).String()+": "+name)
				}
			}
			for _, decl := range f.Decls {
				switch d := decl.(type) {
				case *ast.FuncDecl:
					if d.Recv != nil && !exportedReceiver(d.Recv) {
						continue
					}
					// Methods that implement well-known interfaces explain
					// themselves (String, Error, Type, Freeze, ...).
					if d.Recv != nil && wellKnown[d.Name.Name] {
						continue
					}
					check(d.Name.Name, d.Doc, d.Pos())
				case *ast.GenDecl:
					for _, spec := range d.Specs {
						switch s := spec.(type) {
						case *ast.TypeSpec:
							doc := s.Doc
							if doc == nil {
								doc = d.Doc
							}
							check(s.Name.Name, doc, s.Pos())
						case *ast.ValueSpec:
							// Grouped constants and variables may share the group's comment.
							for _, n := range s.Names {
								if ast.IsExported(n.Name) && s.Doc == nil && d.Doc == nil && d.Lparen == token.NoPos {
									check(n.Name, nil, n.Pos())
								}
							}
						}
					}
				}
			}
		}
	}
	require.Empty(t, missing, "exported names without a doc comment that starts with the name")
}

var wellKnown = map[string]bool{
	"String": true, "Error": true, "Unwrap": true, "Type": true, "Freeze": true, "Truth": true, "Hash": true,
	"Attr": true, "AttrNames": true, "Binary": true, "Write": true, "Close": true, "Run": true,
	"GRPCServer": true, "GRPCClient": true,
}

func exportedReceiver(recv *ast.FieldList) bool {
	t := recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	id, ok := t.(*ast.Ident)
	return ok && ast.IsExported(id.Name)
}

// libraryDirs lists the directories of the module's library packages.
func libraryDirs(t *testing.T) []string {
	var dirs []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "examples") {
			return filepath.SkipDir
		}
		files, _ := filepath.Glob(filepath.Join(path, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			pf, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly)
			if err != nil {
				return err
			}
			if pf.Name.Name != "main" {
				dirs = append(dirs, path)
			}
			break
		}
		return nil
	})
	require.NoError(t, err)
	require.Contains(t, dirs, "engine")
	return dirs
}
