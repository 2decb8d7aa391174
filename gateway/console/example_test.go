package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"time"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/gateway/console"
	"github.com/fngate/fngate/shared/route"
)

// routesOnly is a stand-in admin API that answers the one call the HTTP
// access page makes; any other call would panic on the nil API.
type routesOnly struct{ adminapi.API }

func (routesOnly) Routes(context.Context, adminapi.RouteQuery) (*adminapi.RouteList, error) {
	return &adminapi.RouteList{Routes: []route.Route{{ID: "r1", Domain: "default", Path: "/api/hello", Function: "hello-world",
		Methods: []string{"GET"}, Timeout: route.Duration(15 * time.Second)}}, Version: 1}, nil
}

// The console renders what the admin API answers. In the gateway, API is
// the gateway's own (see gateway.Gateway.Admin); here a stand-in answers.
func Example() {
	con, err := console.New(console.Config{API: routesOnly{}, PublicURL: "http://localhost:8080"})
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
