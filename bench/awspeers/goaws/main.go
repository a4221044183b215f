// Command goaws-local runs the goaws SQS/SNS emulator (github.com/Admiral-Piett/goaws)
// on a loopback address, for `courier bench aws`: goaws's own command listens on
// every interface. It is a module of its own, so goaws is not a dependency of courier.
//
//	goaws-local -addr 127.0.0.1:4100 -config goaws.yaml
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/Admiral-Piett/goaws/app/conf"
	"github.com/Admiral-Piett/goaws/app/gosqs"
	"github.com/Admiral-Piett/goaws/app/router"
	"github.com/sirupsen/logrus"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4100", "loopback address to listen on")
	config := flag.String("config", "", "goaws YAML config (its Local section)")
	flag.Parse()
	logrus.SetLevel(logrus.WarnLevel)
	conf.LoadYamlConfig(*config, "Local")
	quit := make(chan struct{})
	go gosqs.PeriodicTasks(time.Second, quit)
	log.Fatal(http.ListenAndServe(*addr, router.New()))
}
