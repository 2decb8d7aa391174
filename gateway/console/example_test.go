package console_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"

	"github.com/fngate/fngate/gateway/console"
)

// The console renders what the admin API answers. In the gateway, API is
// the admin API's own handler (see gateway.AdminHandler); here a stand-in
// answers the one call the HTTP access page makes.
func Example() {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin/routes" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"routes":[{"id":"r1","domain":"default","path":"/api/hello","function":"hello-world","methods":["GET"],"timeout":"15s"}],"version":1}`)
	})
	con, err := console.New(console.Config{API: api, PublicURL: "http://localhost:8080"})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(con) // no admin token: no sign-in
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/console/routes")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status)
	fmt.Println(regexp.MustCompile(`<code class="curl">([^<]*)</code>`).FindStringSubmatch(string(page))[1])
	// Output:
	// 200 OK
	// curl http://localhost:8080/api/hello
}
