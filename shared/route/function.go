package route

import (
	"fmt"

	"github.com/fngate/fngate/shared/subject"
)

// MaxConcurrencyLimit is the largest maxConcurrency a function may set.
const MaxConcurrencyLimit = 100000

// Function is the settings of one function, wherever its routes are: the
// routes file's functions: section and PUT /admin/functions/<name>.
type Function struct {
	Name string `yaml:"name" json:"name"`
	// MaxConcurrency caps the function's asynchronous invocations running
	// at once across the whole fleet (its durable consumer's
	// MaxAckPending); 0 is no cap beyond the workers' own.
	MaxConcurrency int `yaml:"maxConcurrency" json:"maxConcurrency"`
}

// Validate checks the name and the cap.
func (f *Function) Validate() error {
	if !subject.ValidFunction(f.Name) {
		return &FieldError{"name", fmt.Sprintf("%q must match [a-z0-9][a-z0-9_-]{0,63}", f.Name)}
	}
	if f.MaxConcurrency < 0 || f.MaxConcurrency > MaxConcurrencyLimit {
		return &FieldError{"maxConcurrency", fmt.Sprintf("%d is not within 0..%d (0: no cap)", f.MaxConcurrency, MaxConcurrencyLimit)}
	}
	return nil
}

// ParseFunctions decodes the functions: section of a routes file (see
// ParseFile for its routes), each validated, names once.
func ParseFunctions(data []byte) ([]Function, error) {
	f, err := decodeFile(data)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(f.Functions))
	for i, fn := range f.Functions {
		err := fn.Validate()
		if err == nil && seen[fn.Name] {
			err = &FieldError{"name", fmt.Sprintf("%q is listed twice", fn.Name)}
		}
		if err != nil {
			return nil, fmt.Errorf("routes file: functions[%d]: %w", i, err)
		}
		seen[fn.Name] = true
	}
	return f.Functions, nil
}
