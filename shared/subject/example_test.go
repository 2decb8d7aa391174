package subject_test

import (
	"fmt"

	"github.com/fngate/fngate/shared/subject"
)

func ExampleInvoke() {
	s, _ := subject.Invoke("hello-world")
	q, _ := subject.QueueGroup("hello-world")
	_, err := subject.Invoke("evil.>")
	fmt.Println(s)
	fmt.Println(q)
	fmt.Println(err)
	// Output:
	// fngate.invoke.hello-world
	// fngate-hello-world
	// invalid function name: "evil.>"
}
