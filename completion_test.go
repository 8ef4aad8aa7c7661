package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBashCompletion sources `rayvens completion bash` in a real bash and
// asks it to complete, as the shell does on TAB.
func TestBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	complete := func(words ...string) []string {
		script := `source <(rayvens completion bash)
COMP_WORDS=(` + strings.Join(words, " ") + `); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _rayvens
printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(binary)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		return strings.Fields(string(out))
	}
	require.Equal(t, []string{"check", "completion"}, complete("rayvens", "c"))
	require.Equal(t, []string{"run"}, complete("rayvens", "ru"))
	require.Equal(t, []string{"--for"}, complete("rayvens", "run", "--f"))
	require.Equal(t, []string{"--plugin-dir"}, complete("rayvens", "run", "--pl"))
	require.NotContains(t, complete("rayvens", ""), servePluginName, "the hidden command is not offered")
}

func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		stdout, stderr, code := rayvens(t, "completion", shell)
		require.Equal(t, 0, code, stderr)
		require.Contains(t, stdout, "rayvens")
		require.Contains(t, stdout, "completion for rayvens")
	}
	_, stderr, code := rayvens(t, "completion", "tcsh")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `unknown shell "tcsh"`)
}
