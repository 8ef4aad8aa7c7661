package params

import (
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rayvens/rayvens/plugins/proto"
)

// ToProto converts parameters for the wire.
func ToProto(ps []Param) ([]*proto.Parameter, error) {
	out := make([]*proto.Parameter, len(ps))
	for i, p := range ps {
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
		out[i] = pp
	}
	return out, nil
}

// FromProto converts parameters from the wire.
func FromProto(ps []*proto.Parameter) []Param {
	out := make([]Param, len(ps))
	for i, p := range ps {
		out[i] = Param{
			Name: p.GetName(), Type: Type(p.GetType()), Required: p.GetRequired(), Secret: p.GetSecret(),
			Description: p.GetDescription(), Aliases: p.GetAliases(),
		}
		if p.Default != nil {
			out[i].Default = p.GetDefault().AsInterface()
		}
	}
	return out
}
