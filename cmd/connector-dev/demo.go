package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/cleeng-connector/connector/cmd/connector-dev/demo"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
)

// runDemo walks a subscription through every connector function against a
// running `connector-dev dev` (INGRESS_ADDR, CONNECTOR_DEV_SANDBOX_ADDR), or, when
// none answers there, against a dev stack of its own on free ports.
func runDemo(ctx context.Context, env *config.Env, args []string) error {
	if err := cli.ParseFlags(cli.NewFlagSet("demo"), args); err != nil {
		return err
	}
	log := cli.NewLogger(env)
	ingressURL := "http://" + loopback(env.String("INGRESS_ADDR"))
	sandboxURL := "http://" + loopback(env.String("CONNECTOR_DEV_SANDBOX_ADDR"))
	if err := env.Err(); err != nil {
		return err
	}
	if !healthy(ingressURL) {
		dir, err := os.MkdirTemp("", "connector-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dev, err := stack.StartDev(ctx, stack.DevOptions{Broker: broker.Options{StoreDir: dir},
			IngressAddr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", Logger: log})
		if err != nil {
			return err
		}
		defer dev.Close()
		if err := stack.SeedDemo(dev.Sandboxes); err != nil {
			return err
		}
		ingressURL, sandboxURL = dev.IngressURL, dev.SandboxURL
		fmt.Printf("no connector answered; running the demo on a dev stack of its own (%s)\n", ingressURL)
	}
	res, err := demo.Run(ctx, stack.DemoTarget(ingressURL, sandboxURL), os.Stdout)
	if err != nil {
		return err
	}
	fmt.Println()
	res.Table(os.Stdout)
	return nil
}

// loopback turns a listen address such as ":8080" into one to dial.
func loopback(addr string) string {
	if len(addr) > 0 && addr[0] == ':' {
		return "127.0.0.1" + addr
	}
	return addr
}

func healthy(base string) bool {
	client := http.Client{Timeout: time.Second}
	resp, err := client.Get(base + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
