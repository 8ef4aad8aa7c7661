// Package proto holds the connector wire protocol (connector.proto) and the
// Go code generated from it. The generated files are committed; regenerate
// them with `go generate ./plugins/proto` (needs protoc on PATH, e.g. from
// Debian's protobuf-compiler; the Go plugins come from go.mod's tools).
package proto

//go:generate bash generate.sh

// ProtocolVersion is the version of connector.proto, checked in the
// go-plugin handshake: a plugin built for another version is refused.
// Version 2 added partial sink acks (Ack.partial): a plugin waits for the
// rest of a batch after one, which a host of version 1 never sends.
const ProtocolVersion = 2
