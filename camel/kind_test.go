package camel

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckRefusesBadDeclarations(t *testing.T) {
	for _, c := range []struct {
		kind Kind
		err  string
	}{
		{Kind{Direction: Source}, "a kind has no name"},
		{Kind{Name: "Slack-sink", Direction: Sink}, `the kind "Slack-sink": its name has 'S' at byte 0: a name is a lowercase letter, then lowercase letters, digits and hyphens`},
		{Kind{Name: "1-source", Direction: Source}, `the kind "1-source": its name has '1' at byte 0: a name is a lowercase letter, then lowercase letters, digits and hyphens`},
		{Kind{Name: "my source", Direction: Source}, `the kind "my source": its name has ' ' at byte 2: a name is a lowercase letter, then lowercase letters, digits and hyphens`},
		{Kind{Name: strings.Repeat("a", 65), Direction: Source}, `the kind "` + strings.Repeat("a", 64) + `"... (65 bytes): its name is 65 bytes long, more than 64`},
		{Kind{Name: "a-source", Direction: "sideways"}, `a-source: direction must be "source" or "sink", not "sideways"`},
		{Kind{Name: "a-source", Direction: Source, Params: []Param{{Name: "n", Type: String}, {Name: "m", Type: String, Aliases: []string{"n"}}}}, `a-source: parameter name "n" is declared twice`},
		{Kind{Name: "a-source", Direction: Source, Params: []Param{{Name: "n", Type: Integer, Default: "x"}}}, `a-source: default of parameter "n" must be an integer, got string`},
	} {
		require.EqualError(t, c.kind.Check(), c.err)
	}
	for _, name := range []string{"a", "aws-s3-source", "cloud-object-storage-sink", strings.Repeat("a", 64)} {
		require.NoError(t, Kind{Name: name, Direction: Sink}.Check(), name)
	}
}
