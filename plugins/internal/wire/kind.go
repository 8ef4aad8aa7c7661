package wire

import (
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/proto"
)

// KindToProto converts a kind's declaration for the wire.
func KindToProto(k camel.Kind) (*proto.Kind, error) {
	pk := &proto.Kind{Name: k.Name, Direction: proto.Direction_SOURCE, Description: k.Description, Events: k.Events, Kamelet: k.Kamelet}
	if k.Direction == camel.Sink {
		pk.Direction = proto.Direction_SINK
	}
	for _, p := range k.Params {
		pp := &proto.Parameter{
			Name: p.Name, Type: string(p.Type), Required: p.Required, Secret: p.Secret,
			Description: p.Description, Aliases: p.Aliases,
		}
		if p.Default != nil {
			v, err := structpb.NewValue(p.Default)
			if err != nil {
				return nil, err
			}
			pp.Default = v
		}
		pk.Parameters = append(pk.Parameters, pp)
	}
	return pk, nil
}

// KindFromProto converts a kind's declaration from the wire.
func KindFromProto(pk *proto.Kind) camel.Kind {
	k := camel.Kind{Name: pk.GetName(), Direction: camel.Source, Description: pk.GetDescription(), Events: pk.GetEvents(), Kamelet: pk.GetKamelet()}
	if pk.GetDirection() == proto.Direction_SINK {
		k.Direction = camel.Sink
	}
	for _, p := range pk.GetParameters() {
		param := camel.Param{
			Name: p.GetName(), Type: camel.Type(p.GetType()), Required: p.GetRequired(), Secret: p.GetSecret(),
			Description: p.GetDescription(), Aliases: p.GetAliases(),
		}
		if p.Default != nil {
			param.Default = p.GetDefault().AsInterface()
		}
		k.Params = append(k.Params, param)
	}
	return k
}
