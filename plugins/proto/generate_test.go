package proto

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGeneratedCodeIsCurrent regenerates the code from connector.proto into
// a temporary directory and compares it with the committed files, so a
// change to the .proto without `go generate` fails. It needs protoc (CI
// installs Debian's protobuf-compiler); without it the test is skipped
// unless RAYVENS_REQUIRE_PROTOC is set.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		if os.Getenv("RAYVENS_REQUIRE_PROTOC") != "" {
			t.Fatal("protoc is required (RAYVENS_REQUIRE_PROTOC is set) but not on PATH")
		}
		t.Skip("protoc not on PATH; install protobuf-compiler to check the generated code")
	}
	out := t.TempDir()
	cmd := exec.Command("bash", "generate.sh", out)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Run())
	for _, f := range []string{"connector.pb.go", "connector_grpc.pb.go"} {
		want, err := os.ReadFile(filepath.Join(out, f))
		require.NoError(t, err)
		got, err := os.ReadFile(f)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%s is stale: run go generate ./plugins/proto", f)
	}
}
