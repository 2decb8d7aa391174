package worker_test

import (
	"context"
	"fmt"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/worker"
)

// A function that returns an envelope to choose its status and headers.
func ExampleHandlerFunc() {
	greet := worker.HandlerFunc(func(ctx context.Context, ev *event.Event) (any, error) {
		name := ev.QueryStringParameters["name"]
		if name == "" {
			return &event.Response{StatusCode: 400, Body: `{"error":"name is required"}`}, nil
		}
		return map[string]string{"message": "Hello, " + name + "!"}, nil
	})
	res, _ := greet.Invoke(context.Background(), &event.Event{QueryStringParameters: map[string]string{"name": "CloudBase"}})
	reply, _ := event.FromGo(res)
	fmt.Println(reply.Status, string(reply.Body))
	// Output: 200 {"message":"Hello, CloudBase!"}
}

// A typed JSON function: the body is decoded into the input type.
func ExampleJSON() {
	type order struct {
		Item string `json:"item"`
		Qty  int    `json:"qty"`
	}
	type receipt struct {
		Item  string `json:"item"`
		Total int    `json:"total"`
	}
	h := worker.JSON(func(ctx context.Context, ev *event.Event, o order) (receipt, error) {
		return receipt{Item: o.Item, Total: o.Qty * 3}, nil
	})
	res, _ := h.Invoke(context.Background(), &event.Event{Body: `{"item":"tea","qty":2}`})
	reply, _ := event.FromGo(res)
	fmt.Println(reply.Status, reply.Header.Get("Content-Type"), string(reply.Body))
	// Output: 200 application/json {"item":"tea","total":6}
}
