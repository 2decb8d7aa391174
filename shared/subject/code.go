package subject

import "fmt"

// JetStream names of deployed function code (PUT /admin/functions/<name>/code).
const (
	// BucketCode is the Object Store bucket of code archives, one object
	// per version of a function (see [CodeObject]).
	BucketCode = "fngate_code"
	// BucketCodeVersions is the Key-Value bucket of each function's
	// versions and the one its workers serve, one key per function name.
	BucketCodeVersions = "fngate_code_versions"
)

// CodeObject names an archive object of function: <function>/<id>, id
// unique to the upload (package nuid).
func CodeObject(function, id string) (string, error) {
	if !ValidFunction(function) {
		return "", fmt.Errorf("%w: %q", ErrInvalidFunction, function)
	}
	return function + "/" + id, nil
}
