package homelab

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The packages a user meets, each held to "One SDK, one vocabulary" in the
// house style.
var devicePackages = []string{"routeros", "proxmox", "omv", "npm", "ups", "dns", "backup"}

// Every package answers these with errors.Is, whatever its device.
var classSentinels = []string{"ErrNotFound", "ErrAuth", "ErrPermission", "ErrConflict", "ErrInvalid", "ErrUnavailable", "ErrClosed"}

// Login options other than WithCredentials (proxmox keeps WithAPIToken
// beside it) and second-factor options other than WithTOTP.
var strayCredentialOptions = []string{"WithUser", "WithPassword", "WithUsername", "WithLogin", "WithTwoFactor", "WithToken", "WithAuth"}

func loadPackage(t *testing.T, dir string) *doc.Package {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		require.NoError(t, err)
		files = append(files, f)
	}
	require.NotEmpty(t, files, "no Go files in %s", dir)
	p, err := doc.NewFromFiles(fset, files, "github.com/thehomelab/homelab/"+dir)
	require.NoError(t, err)
	return p
}

// funcs lists every exported function and method of p, methods as
// "Type.Method".
func funcs(p *doc.Package) map[string]*doc.Func {
	out := map[string]*doc.Func{}
	for _, f := range p.Funcs {
		out[f.Name] = f
	}
	for _, ty := range p.Types {
		for _, f := range ty.Funcs {
			out[f.Name] = f
		}
		for _, m := range ty.Methods {
			out[ty.Name+"."+m.Name] = m
		}
	}
	return out
}

func exportedVars(p *doc.Package) map[string]bool {
	out := map[string]bool{}
	add := func(vs []*doc.Value) {
		for _, v := range vs {
			for _, n := range v.Names {
				out[n] = true
			}
		}
	}
	add(p.Vars)
	for _, ty := range p.Types {
		add(ty.Vars)
	}
	return out
}

func TestVocabulary(t *testing.T) {
	t.Parallel()
	for _, pkg := range devicePackages {
		t.Run(pkg, func(t *testing.T) {
			t.Parallel()
			if _, err := os.Stat(pkg); os.IsNotExist(err) {
				t.Skipf("package %s is not built yet", pkg)
			}
			p := loadPackage(t, pkg)
			fs := funcs(p)
			vars := exportedVars(p)

			for _, s := range classSentinels {
				assert.True(t, vars[s], "%s lacks the class sentinel %s", pkg, s)
			}

			// Every client caps what it reads from a device, and a user
			// matches the cap the same way in every package.
			if pkg != "backup" {
				assert.True(t, vars["ErrTooLarge"], "%s lacks ErrTooLarge", pkg)
			}

			for _, name := range strayCredentialOptions {
				assert.NotContains(t, fs, name, "%s: the login option is WithCredentials(user, secret.Secret), second factor WithTOTP", pkg)
			}

			for _, ty := range p.Types {
				assert.NotEqual(t, "Secret", ty.Name, "%s re-exports Secret: take secret.Secret", pkg)
			}
			assert.NotContains(t, fs, "NewSecret", "%s: secrets are built with secret.New", pkg)
			assert.NotContains(t, fs, "Client.GoProxmox", "%s leaks a dependency's type", pkg)

			errType := false
			for _, ty := range p.Types {
				if ty.Name == "Error" {
					errType = true
					st, ok := ty.Decl.Specs[0].(*ast.TypeSpec).Type.(*ast.StructType)
					require.True(t, ok, "%s.Error is a struct", pkg)
					fields := map[string]bool{}
					for _, f := range st.Fields.List {
						for _, n := range f.Names {
							fields[n.Name] = true
						}
					}
					for _, want := range []string{"Op", "Code", "Message"} {
						assert.True(t, fields[want], "%s.Error lacks the field %s", pkg, want)
					}
					assert.False(t, fields["Status"], "%s.Error: the HTTP status is StatusCode", pkg)
					assert.Contains(t, fs, "Error.Unwrap", "%s.Error has no Unwrap", pkg)
				}
			}
			assert.True(t, errType, "%s has no *Error type", pkg)

			for name, f := range fs {
				base := name[strings.LastIndex(name, ".")+1:]
				if !strings.HasPrefix(base, "Ensure") {
					continue
				}
				res := f.Decl.Type.Results
				if res == nil {
					continue
				}
				for _, r := range res.List {
					switch typ := r.Type.(type) {
					case *ast.Ident:
						assert.NotEqual(t, "bool", typ.Name, "%s.%s returns a bare bool: return a result with Action and Changes", pkg, name)
					case *ast.ArrayType:
						if id, ok := typ.Elt.(*ast.Ident); ok {
							assert.NotEqual(t, "string", id.Name, "%s.%s returns []string: return a result with Action and Changes", pkg, name)
						}
					}
				}
			}

			if _, ok := fs["NewClient"]; ok {
				assert.Contains(t, fs, "WithTimeout", "%s has a client but no WithTimeout", pkg)
				assert.Contains(t, fs, "WithLogger", "%s has a client but no WithLogger", pkg)
			}
		})
	}
}

// TestFakeHarness holds every fake to one shape: NewServer, Start, Requests,
// SetLatency and Inject.
func TestFakeHarness(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"routeros/routerostest", "proxmox/proxmoxtest", "omv/omvtest", "npm/npmtest", "ups/upstest", "dns/dnstest"} {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			p := loadPackage(t, dir)
			fs := funcs(p)
			for _, want := range []string{"NewServer", "Start", "Server.Requests", "Server.SetLatency", "Server.Inject", "Server.ClearFaults", "Server.SetRequestLimit", "Server.Close"} {
				assert.Contains(t, fs, want, "%s lacks %s", dir, want)
			}
			hasURL := false
			for _, ty := range p.Types {
				if ty.Name == "Server" {
					_, hasURL = structFields(ty)["URL"]
				}
			}
			_, hasAddr := fs["Server.Addr"]
			assert.True(t, hasURL || hasAddr, "%s: a fake says where it listens with a URL field or Addr()", dir)
			if f, ok := fs["Server.Requests"]; ok {
				assert.Nil(t, f.Decl.Type.Params.List, "%s: Requests() takes no argument", dir)
				if res := f.Decl.Type.Results; assert.NotNil(t, res) && assert.Len(t, res.List, 1) {
					arr, ok := res.List[0].Type.(*ast.ArrayType)
					if assert.True(t, ok, "%s: Requests() returns []Request", dir) {
						id, _ := arr.Elt.(*ast.Ident)
						assert.True(t, id != nil && id.Name == "Request", "%s: Requests() returns []Request", dir)
					}
				}
			}
		})
	}
}

// docStartsWith reports whether a doc comment begins with name, allowing a
// leading article ("A Client is …").
func docStartsWith(d, name string) bool {
	w := strings.Fields(d)
	if len(w) > 1 && (w[0] == "A" || w[0] == "An" || w[0] == "The") {
		w = w[1:]
	}
	return len(w) > 0 && strings.TrimRight(w[0], ".,:;") == name
}

// TestDocComments holds every exported type, function and method to rule 17:
// its comment starts with its name.
func TestDocComments(t *testing.T) {
	t.Parallel()
	dirs := append([]string{"secret", "omv/smb"}, devicePackages...)
	dirs = append(dirs, "routeros/routerostest", "proxmox/proxmoxtest", "omv/omvtest", "npm/npmtest", "ups/upstest", "dns/dnstest")
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			p := loadPackage(t, dir)
			for _, ty := range p.Types {
				assert.True(t, docStartsWith(ty.Doc, ty.Name), "%s.%s: the comment starts with its name", dir, ty.Name)
			}
			for name, f := range funcs(p) {
				assert.True(t, docStartsWith(f.Doc, f.Name), "%s.%s: the comment starts with its name", dir, name)
			}
		})
	}
}

// upstreamMarkers are the lines by which a method names the upstream
// operation it performs (rule 17).
var upstreamMarkers = []string{" API:", "NUT protocol:"}

// Calls that by design name no single upstream operation.
var noUpstreamOperation = map[string]bool{
	"proxmox.Client.Do": true, // any path the caller names
}

// TestUpstreamOperation holds every I/O method of a Client or a service
// (its first parameter a context) to naming the upstream operation it calls.
func TestUpstreamOperation(t *testing.T) {
	t.Parallel()
	for _, pkg := range []string{"routeros", "proxmox", "omv", "npm", "ups", "dns"} {
		t.Run(pkg, func(t *testing.T) {
			t.Parallel()
			p := loadPackage(t, pkg)
			for _, ty := range p.Types {
				if ty.Name != "Client" && ty.Name != "Device" && ty.Name != "Listener" && !strings.HasSuffix(ty.Name, "Service") {
					continue
				}
				for _, m := range ty.Methods {
					name := pkg + "." + ty.Name + "." + m.Name
					params := m.Decl.Type.Params.List
					if len(params) == 0 || noUpstreamOperation[name] {
						continue
					}
					if se, ok := params[0].Type.(*ast.SelectorExpr); !ok || se.Sel.Name != "Context" {
						continue
					}
					named := false
					for _, mark := range upstreamMarkers {
						named = named || strings.Contains(m.Doc, mark)
					}
					assert.True(t, named, "%s: the comment names the upstream operation (a line %q)", name, upstreamMarkers)
				}
			}
		})
	}
}

// structFields lists the field names of a struct type declaration.
func structFields(ty *doc.Type) map[string]ast.Expr {
	out := map[string]ast.Expr{}
	st, ok := ty.Decl.Specs[0].(*ast.TypeSpec).Type.(*ast.StructType)
	if !ok {
		return out
	}
	for _, f := range st.Fields.List {
		for _, n := range f.Names {
			out[n.Name] = f.Type
		}
	}
	return out
}

// TestResultsAndEvents holds every Ensure result to Action, Changes and
// Changed(), and every Event to Kind (a type with String) and Time.
func TestResultsAndEvents(t *testing.T) {
	t.Parallel()
	for _, pkg := range devicePackages {
		t.Run(pkg, func(t *testing.T) {
			t.Parallel()
			p := loadPackage(t, pkg)
			types := map[string]*doc.Type{}
			for _, ty := range p.Types {
				types[ty.Name] = ty
			}
			fs := funcs(p)
			for name, f := range fs {
				base := name[strings.LastIndex(name, ".")+1:]
				res := f.Decl.Type.Results
				if !strings.HasPrefix(base, "Ensure") || res == nil || len(res.List) == 0 {
					continue
				}
				typ := res.List[0].Type
				if arr, ok := typ.(*ast.ArrayType); ok {
					typ = arr.Elt
				}
				id, ok := typ.(*ast.Ident)
				if !assert.True(t, ok, "%s.%s returns a named result type", pkg, name) {
					continue
				}
				ty, ok := types[id.Name]
				if !assert.True(t, ok, "%s.%s: result %s is declared in the package", pkg, name, id.Name) {
					continue
				}
				fields := structFields(ty)
				assert.Contains(t, fields, "Action", "%s.%s lacks Action", pkg, id.Name)
				assert.Contains(t, fields, "Changes", "%s.%s lacks Changes", pkg, id.Name)
				assert.Contains(t, fs, id.Name+".Changed", "%s.%s lacks Changed()", pkg, id.Name)
			}
			if ev, ok := types["Event"]; ok {
				fields := structFields(ev)
				assert.Contains(t, fields, "Time", "%s.Event lacks Time", pkg)
				if kind, ok := fields["Kind"]; assert.True(t, ok, "%s.Event lacks Kind", pkg) {
					id, _ := kind.(*ast.Ident)
					if assert.NotNil(t, id, "%s.Event.Kind is a named type", pkg) {
						assert.Contains(t, fs, id.Name+".String", "%s.%s has no String()", pkg, id.Name)
					}
				}
			}
		})
	}
}
