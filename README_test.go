package trail_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeGoBlock returns the first ```go block of README.md.
func readmeGoBlock(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)```go\n(.*?)\n```").FindSubmatch(readme)
	require.NotNil(t, m, "README.md has no ```go block")
	return string(m[1]) + "\n"
}

// TestREADMEExample extracts the Go example from README.md into a
// throw-away module that requires this one through a replace directive, then
// vets, builds and runs it, offline: GOPROXY=off and -mod=mod resolve
// everything from the module cache that building this package already
// filled. It fails when the README's example stops compiling or working.
func TestREADMEExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program; skipped in short mode")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin, err = exec.LookPath("go")
		require.NoError(t, err, "no go command to build the README example with")
	}
	code := readmeGoBlock(t)
	require.Contains(t, code, "package main")

	root, err := filepath.Abs(".")
	require.NoError(t, err)
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)

	// The example module: this module's go.mod (its go directive and
	// requirements) under another module path, plus this module, replaced
	// by the working tree.
	modLine := regexp.MustCompile(`(?m)^module\s+\S+\s*$`)
	require.True(t, modLine.Match(gomod))
	mod := modLine.ReplaceAllLiteral(gomod, []byte("module example.com/readme"))
	mod = append(mod, "\nrequire github.com/trailkit/trail v0.0.0\n\nreplace github.com/trailkit/trail => "+
		strings.ReplaceAll(root, `\`, `/`)+"\n"...)

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), mod, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), gosum, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(code), 0o644))

	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local", "GOSUMDB=off")
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Run(), "%s %s in the README example module:\n%s\n--- main.go ---\n%s",
			filepath.Base(name), strings.Join(args, " "), out.String(), code)
		return out.String()
	}
	run(goBin, "vet", ".")
	bin := filepath.Join(dir, "readme-example")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	run(goBin, "build", "-o", bin, ".")

	// Run it: it records one event and Close delivers it to ./audit-out.
	run(bin)
	var logs []string
	require.NoError(t, filepath.WalkDir(filepath.Join(dir, "audit-out"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json.gz") {
			logs = append(logs, path)
		}
		return err
	}))
	assert.Len(t, logs, 1, "the README example delivers one log file")
}
