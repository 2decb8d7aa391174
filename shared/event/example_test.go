package event_test

import (
	"fmt"

	"github.com/fngate/fngate/shared/event"
)

func ExampleFromValue() {
	for _, v := range []string{
		`{"message":"success"}`,
		`"Hello"`,
		`{"statusCode":404,"body":"{\"error\":\"Not Found\"}"}`,
	} {
		r, _ := event.FromValue([]byte(v))
		fmt.Println(r.Status, r.Header.Get("Content-Type"), string(r.Body))
	}
	// Output:
	// 200 application/json {"message":"success"}
	// 200 text/plain; charset=utf-8 Hello
	// 404 application/json {"error":"Not Found"}
}
