// Package s3 holds the object storage connectors, on Amazon S3's API
// (github.com/minio/minio-go/v7), so that any S3-compatible store serves
// (AWS, IBM Cloud Object Storage, MinIO, Ceph, ...):
//
//   - aws-s3-source and aws-s3-sink follow the Apache Camel Kamelets of the
//     same names: each object is one event, its body the object's bytes and
//     its key and bucket in Camel's CamelAwsS3* headers;
//   - cloud-object-storage-source and cloud-object-storage-sink are the kinds
//     of the Python Rayvens, with its parameter names (bucket_name,
//     access_key_id, ...) and its events, a JSON object
//     {"filename": key, "body": content}.
//
// Both sources poll (source.go): an object leaves its bucket (deleted, or
// moved to another bucket) only in its event's Ack(nil), so a crash, a full
// stream or a failed event never loses one. Both sinks (sink.go) put one
// object per event and acknowledge an event only once S3 confirmed its PUT;
// the Rayvens sink can also upload local files (files.go). conn.go turns
// the parameters into a client and S3's errors into one-line sentences
// that name the kind and the endpoint and never show a credential.
package s3

import (
	"github.com/rayvens/rayvens/plugins/sdk"
)

// The headers of Camel's aws2-s3 component: set on every source event;
// the sinks read keyHeader (the object's key) and contentTypeHeader.
const (
	keyHeader         = "CamelAwsS3Key"
	bucketHeader      = "CamelAwsS3BucketName"
	contentTypeHeader = "CamelAwsS3ContentType"
	etagHeader        = "CamelAwsS3ETag"
)

// SourceKind declares aws-s3-source.
var SourceKind = sdk.SourceKind{
	Name:        "aws-s3-source",
	Kamelet:     "aws-s3-source",
	Description: "Receives the objects of an Amazon S3 bucket (or of any S3-compatible store), one event per object. An object is deleted (deleteAfterRead) or moved to another bucket (moveAfterRead) only once its event is done end to end; an object whose event failed stays in the bucket.",
	Events:      "the content of each object, byte for byte, with its key, bucket, content type and ETag in the CamelAwsS3Key, CamelAwsS3BucketName, CamelAwsS3ContentType and CamelAwsS3ETag headers",
	Params: append(connParams(),
		sdk.Param{Name: "deleteAfterRead", Type: sdk.Boolean, Default: true, Description: "Delete each object from the bucket once its event is done."},
		sdk.Param{Name: "moveAfterRead", Type: sdk.Boolean, Default: false, Description: "Move each object to destinationBucket once its event is done, instead of deleting it."},
		sdk.Param{Name: "destinationBucket", Type: sdk.String, Description: "The bucket that moveAfterRead moves objects to."},
		sdk.Param{Name: "destinationBucketPrefix", Type: sdk.String, Description: "A prefix put before the key of each object that moveAfterRead moves."},
		sdk.Param{Name: "destinationBucketSuffix", Type: sdk.String, Description: "A suffix put after the key of each object that moveAfterRead moves."},
		sdk.Param{Name: "prefix", Type: sdk.String, Description: "Read only the objects whose key starts with this prefix, for example folder/."},
		sdk.Param{Name: "ignoreBody", Type: sdk.Boolean, Default: false, Description: "Do not download the objects: each event has an empty body and the object's headers only."},
		sdk.Param{Name: "delay", Type: sdk.Integer, Default: 500, Description: "The number of milliseconds between two polls of the bucket."},
		sdk.Param{Name: "maxMessagesPerPoll", Type: sdk.Integer, Default: 10, Description: "The most objects read in one poll; when a poll reads that many, the next one starts at once. Zero or a negative number sets no limit."},
	),
	New: newAWSSource,
}

// SinkKind declares aws-s3-sink.
var SinkKind = sdk.SinkKind{
	Name:        "aws-s3-sink",
	Kamelet:     "aws-s3-sink",
	Description: "Uploads each event as an object to an Amazon S3 bucket (or to any S3-compatible store). An event is acknowledged only once S3 confirmed its upload. The key is the event's CamelAwsS3Key header, else keyName, else a unique generated name.",
	Events:      "each event is the content of one object",
	Params: append(connParams(),
		sdk.Param{Name: "keyName", Type: sdk.String, Description: "The key to save objects under when an event has no CamelAwsS3Key header."},
	),
	New: newAWSSink,
}

// connParams are the parameters of both aws-s3 kinds that say where the
// bucket is and how to sign in.
func connParams() []sdk.Param {
	return []sdk.Param{
		{Name: "bucketNameOrArn", Type: sdk.String, Required: true, Description: "The name of the bucket, or its Amazon Resource Name (arn:aws:s3:::name)."},
		{Name: "region", Type: sdk.String, Required: true, Description: "The AWS region of the bucket, for example eu-west-1."},
		{Name: "accessKey", Type: sdk.String, Secret: true, Description: "The access key obtained from AWS; without accessKey and secretKey (and without a credentials provider) requests are anonymous."},
		{Name: "secretKey", Type: sdk.String, Secret: true, Description: "The secret key obtained from AWS."},
		{Name: "autoCreateBucket", Type: sdk.Boolean, Default: false, Description: "Create the bucket when it does not exist."},
		{Name: "useDefaultCredentialsProvider", Type: sdk.Boolean, Default: false, Description: "Load the credentials as AWS tools do: from the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables, then the shared credentials file, then the instance's IAM role."},
		{Name: "useProfileCredentialsProvider", Type: sdk.Boolean, Default: false, Description: "Load the credentials from a profile of the shared credentials file (~/.aws/credentials, or AWS_SHARED_CREDENTIALS_FILE)."},
		{Name: "profileCredentialsName", Type: sdk.String, Description: "The profile that useProfileCredentialsProvider reads; default: AWS_PROFILE, else default."},
		{Name: "useSessionCredentials", Type: sdk.Boolean, Default: false, Description: "Sign requests with temporary credentials: accessKey, secretKey and sessionToken, for example those of an assumed IAM role."},
		{Name: "sessionToken", Type: sdk.String, Secret: true, Description: "The session token of temporary credentials (useSessionCredentials)."},
		{Name: "overrideEndpoint", Type: sdk.Boolean, Default: false, Description: "Send requests to uriEndpointOverride instead of Amazon's endpoint of the region."},
		{Name: "uriEndpointOverride", Type: sdk.String, Description: "The endpoint to send requests to when overrideEndpoint is set: an http:// or https:// URL, for example http://127.0.0.1:9000 for a local MinIO."},
		{Name: "forcePathStyle", Type: sdk.Boolean, Default: false, Description: "Name the bucket in the URL's path (https://host/bucket/key) instead of its host name (https://bucket.host/key); stores other than Amazon's and Google's get path style anyway."},
	}
}

// COSSourceKind declares cloud-object-storage-source, the kind of the
// Python Rayvens.
var COSSourceKind = sdk.SourceKind{
	Name:        "cloud-object-storage-source",
	Description: "Receives the objects of a bucket of IBM Cloud Object Storage, or of any S3-compatible store, as the Python Rayvens' cloud-object-storage-source does. An object is deleted (or moved to the bucket move_after_read) only once its event is done end to end; an object whose event failed stays in the bucket.",
	Events:      `a JSON object {"filename": key, "body": content} per object, as a string (with meta_event_only, the object's key alone)`,
	Params: append(cosParams(),
		sdk.Param{Name: "move_after_read", Type: sdk.String, Description: "A bucket to move each object to once its event is done, instead of deleting it."},
		sdk.Param{Name: "meta_event_only", Type: sdk.Boolean, Default: false, Description: "Send only the key of each object, without downloading it; the object is then left in the bucket (or moved to move_after_read) and not sent again in this run unless it changes."},
	),
	New: newCOSSource,
}

// COSSinkKind declares cloud-object-storage-sink, the kind of the Python
// Rayvens.
var COSSinkKind = sdk.SinkKind{
	Name:        "cloud-object-storage-sink",
	Description: "Uploads events, or local files, as objects to a bucket of IBM Cloud Object Storage or of any S3-compatible store, as the Python Rayvens' cloud-object-storage-sink does. An event is acknowledged, and a local file deleted, only once the store confirmed the upload.",
	Events:      "each event is the content of one object; with upload_type=multi-part, each event is the path of a local file to upload",
	Params: append(cosParams(),
		sdk.Param{Name: "file_name", Type: sdk.String, Description: "The key to save objects under when an event has no CamelAwsS3Key header; default: a unique generated name (with upload_type=multi-part, the file's name)."},
		sdk.Param{Name: "upload_type", Type: sdk.String, Description: "multi-part: each event is the path of a local file, uploaded in parts of part_size bytes; without it, each event's body is the object."},
		sdk.Param{Name: "part_size", Type: sdk.Integer, Default: defaultPartSize, Description: "The size in bytes of the parts of a multi-part upload, at least 5 MiB (5242880)."},
		sdk.Param{Name: "from_file", Type: sdk.String, Description: "A local file to upload, under its name, whenever it appears (implies upload_type=multi-part)."},
		sdk.Param{Name: "from_directory", Type: sdk.String, Description: "A local directory whose files are uploaded, under their names relative to it, as they appear (implies upload_type=multi-part)."},
		sdk.Param{Name: "keep_file", Type: sdk.Boolean, Default: false, Description: "Leave from_file or the files of from_directory in place once uploaded, instead of deleting them; each is uploaded again only if it changes."},
	),
	New: newCOSSink,
}

// cosParams are the parameters of both Rayvens kinds that say where the
// bucket is and how to sign in, as the Python Rayvens names them.
func cosParams() []sdk.Param {
	return []sdk.Param{
		{Name: "bucket_name", Type: sdk.String, Required: true, Description: "The name of the bucket."},
		{Name: "access_key_id", Type: sdk.String, Required: true, Secret: true, Description: "The access key ID of the HMAC credentials of the store."},
		{Name: "secret_access_key", Type: sdk.String, Required: true, Secret: true, Description: "The secret access key of the HMAC credentials of the store."},
		{Name: "endpoint", Type: sdk.String, Required: true, Description: "The endpoint of the store: an https:// (or http://) URL, for example https://s3.us-east.cloud-object-storage.appdomain.cloud."},
		{Name: "region", Type: sdk.String, Description: "The region of the bucket; default: the second label of an endpoint host named s3.REGION...., else us-east-1."},
	}
}
