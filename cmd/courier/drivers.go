package main

// The drivers for existing engines, so that every command takes their URLs
// (--server amqp://..., courier bench queue --peers redis,...).
import (
	_ "github.com/courier-io/courier/drivers/kafka"    // kafka://
	_ "github.com/courier-io/courier/drivers/nats"     // nats://, nats+tls://
	_ "github.com/courier-io/courier/drivers/rabbitmq" // amqp://, amqps://
	_ "github.com/courier-io/courier/drivers/redis"    // redis://, rediss://
)
