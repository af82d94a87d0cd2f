package main

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
)

var cleengCommands = map[string]subcommand{
	"subscribe": {"--url <public ingress URL>/webhooks/cleeng",
		"register the URL for every webhook topic the connector needs, keeping other endpoints; a second run changes nothing",
		runCleengSubscribe},
}

func runCleengSubscribe(ctx context.Context, env *config.Env, args []string, out io.Writer) error {
	fs := cli.NewFlagSet("cleeng subscribe")
	hook := fs.String("url", "", "the connector's public Cleeng webhook URL: <ingress>/webhooks/cleeng")
	if pos, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return cli.Usagef("unexpected argument %q", pos[0])
	}
	if *hook == "" {
		return cli.Usagef("--url is required: the public URL of the ingress's /webhooks/cleeng")
	}
	if u, err := url.Parse(*hook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cli.Usagef("--url %q is not an absolute http(s) URL", *hook)
	}
	cfg := cleeng.Config{BaseURL: env.URL("CLEENG_API_URL"), PublisherToken: env.Required("CLEENG_PUBLISHER_TOKEN")}
	if err := env.Err(); err != nil {
		return err
	}
	client, err := cleeng.NewClient(cfg)
	if err != nil {
		return err
	}
	changes, err := cleeng.Subscribe(ctx, client, *hook, cleeng.RequiredTopics)
	for _, c := range changes { // made before a failure: print them all the same
		fmt.Fprintln(out, c)
	}
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		fmt.Fprintln(out, "nothing to change")
	}
	return nil
}
