package wire

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
)

func TestKindRoundTrip(t *testing.T) {
	k := camel.Kind{Name: "http-source", Direction: camel.Sink, Description: "d", Events: "e", Kamelet: "http-source", Params: []camel.Param{
		{Name: "url", Type: camel.String, Required: true},
		{Name: "period", Type: camel.Integer, Default: 1000},
		{Name: "timeout", Type: camel.Number, Default: 2.5},
		{Name: "insecure", Type: camel.Boolean, Default: false},
		{Name: "webhookUrl", Type: camel.String, Secret: true, Aliases: []string{"webhook_url"}, Description: "the hook"},
	}}
	pk, err := KindToProto(k)
	require.NoError(t, err)
	back := KindFromProto(pk)
	want := k
	want.Params = append([]camel.Param(nil), k.Params...)
	want.Params[1].Default = float64(1000) // protobuf has only one kind of number
	require.Equal(t, want, back)
}
