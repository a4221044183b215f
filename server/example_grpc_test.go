package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"connectrpc.com/connect"

	"github.com/courier-io/courier"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/gen/courier/v1/courierv1connect"
	"github.com/courier-io/courier/server"
)

// A gRPC client sends to a queue and receives on a flow-controlled
// stream, acking each delivery to receive the next.
func Example_grpc() {
	ctx := context.Background()
	b, _ := courier.Open(ctx, "mem://")
	defer b.Close()
	srv := server.New(b)
	defer srv.Drain()
	ts := httptest.NewUnstartedServer(srv)
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true) // h2c, as `courier serve` answers
	ts.Config.Protocols = &p
	ts.Start()
	defer ts.Close()

	var cp http.Protocols
	cp.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &cp}
	defer tr.CloseIdleConnections()
	queues := courierv1connect.NewQueueServiceClient(&http.Client{Transport: tr}, ts.URL, connect.WithGRPC())

	if _, err := queues.CreateQueue(ctx, &pb.CreateQueueRequest{Name: "orders"}); err != nil {
		fmt.Println(err)
		return
	}
	_, err := queues.Send(ctx, &pb.SendRequest{Queue: "orders", Messages: []*pb.Message{
		{Body: []byte("order #1")}, {Body: []byte("order #2")},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Credit 1: the server sends the next message only after the ack.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := queues.Receive(ctx, &pb.ReceiveRequest{Queue: "orders", Credit: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stream.Close()
	for n := 0; n < 2 && stream.Receive(); n++ {
		for _, d := range stream.Msg().Deliveries {
			fmt.Printf("%s\n", d.Body)
			if _, err := queues.Ack(ctx, &pb.AckRequest{Queue: "orders", Receipts: []string{d.Receipt}}); err != nil {
				fmt.Println(err)
			}
		}
	}

	// Errors carry the gRPC code of the one error table.
	_, err = queues.GetQueue(ctx, &pb.GetQueueRequest{Name: "nope"})
	fmt.Println(connect.CodeOf(err))
	// Output:
	// order #1
	// order #2
	// not_found
}
