package main

import (
	"strings"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/cmd/connector/roles"
	"github.com/cleeng-connector/connector/flows"
	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/gateways/guard"
	"github.com/cleeng-connector/connector/ingress"
	"github.com/cleeng-connector/connector/internal/config"
	"github.com/cleeng-connector/connector/workers"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// readIngressSettings reads the ingress variables. Every webhook it takes
// must be authentic: it refuses to start without Cleeng's secret (unless
// the deployment authenticates Cleeng's webhooks upstream) and publisher
// id, and without the notification credentials of every gateway
// PAYMENT_METHODS names.
func readIngressSettings(env *config.Env, log zerolog.Logger, reg *prometheus.Registry) roles.IngressSettings {
	s := roles.IngressSettings{
		Addr:        env.String("INGRESS_ADDR"),
		MetricsAddr: env.String("METRICS_ADDR"),
		Config: ingress.Config{
			MaxBodyBytes: int64(env.Int("INGRESS_MAX_BODY_BYTES")),
			Logger:       log,
			Registry:     reg,
		},
		Checkout: ingress.CheckoutConfig{
			SyncWait:       env.Duration("INGRESS_SYNC_WAIT"),
			MaxWaits:       env.Int("INGRESS_MAX_WAITS"),
			CORSOrigins:    env.List("CORS_ORIGINS"),
			ReturnOrigins:  env.Origins("CHECKOUT_RETURN_ORIGINS"),
			TrustedProxies: env.Prefixes("INGRESS_TRUSTED_PROXIES"),
			MediaStore: ingress.MediaStoreConfig{
				ClientKey:        env.String("ADYEN_CLIENT_KEY"),
				Region:           env.String("ADYEN_CLIENT_REGION"),
				ShopperStatement: env.String("ADYEN_SHOPPER_STATEMENT"),
			},
		},
		JWKSURL: env.URL("CLEENG_JWKS_URL"),
		Cleeng: ingress.CleengWebhookConfig{
			Secret:                []byte(env.String("CLEENG_WEBHOOK_SECRET")),
			SignatureHeader:       env.String("CLEENG_WEBHOOK_SIGNATURE_HEADER"),
			AuthenticatedUpstream: env.Bool("CLEENG_WEBHOOKS_AUTHENTICATED_UPSTREAM"),
			PublisherID:           env.String("CLEENG_PUBLISHER_ID"),
			Attempts: cleeng.AttemptWindow{
				MaxAge:   env.Duration("CLEENG_DUNNING_MAX_AGE"),
				MaxAhead: env.Duration("CLEENG_DUNNING_MAX_AHEAD"),
			},
		},
	}
	// Front-end calls are authenticated with customer JWTs; no relaxation
	// outside dev, which verifies the sandbox's.
	env.Check("CLEENG_JWKS_URL", s.JWKSURL != "", "required: the JWKS of Cleeng's customer tokens, which authenticate every front-end call")
	env.Check("CLEENG_PUBLISHER_ID", s.Cleeng.PublisherID != "", "required: customer tokens must name this publisher")
	if err := s.Checkout.MediaStore.Check(); err != nil {
		name, why, _ := strings.Cut(err.Error(), ": ")
		env.Check(name, false, "%s", why)
	}
	if len(s.Cleeng.Secret) > 0 {
		env.Check("CLEENG_WEBHOOK_SECRET", cleeng.CheckWebhookSecret(s.Cleeng.Secret) == nil, "must be 16 to 64 bytes")
	}
	env.Check("CLEENG_WEBHOOK_SECRET", len(s.Cleeng.Secret) > 0 || s.Cleeng.AuthenticatedUpstream,
		"required: Cleeng's webhooks are taken only signed (set CLEENG_WEBHOOKS_AUTHENTICATED_UPSTREAM=true if a proxy in front of the ingress authenticates them)")
	env.Check("CLEENG_PUBLISHER_ID", s.Cleeng.PublisherID != "", "required: the broadcasterId every Cleeng webhook must carry")
	opsTTL := env.Duration("NATS_OPS_TTL")
	env.Check("CLEENG_DUNNING_MAX_AGE", s.Cleeng.Attempts.MaxAge+s.Cleeng.Attempts.MaxAhead < opsTTL,
		"%s plus CLEENG_DUNNING_MAX_AHEAD (%s) must be shorter than NATS_OPS_TTL (%s): a replayed dunning webhook must be refused before the record of its attempt expires",
		s.Cleeng.Attempts.MaxAge, s.Cleeng.Attempts.MaxAhead, opsTTL)

	served := servedGateways(env)
	if keys := env.List("ADYEN_HMAC_KEYS"); len(keys) > 0 || served[adyen.Name] {
		env.Check("ADYEN_HMAC_KEYS", len(keys) > 0, "required: PAYMENT_METHODS routes payments to adyen, whose notifications are taken only signed")
		v, err := adyen.NewVerifier(keys...)
		env.Check("ADYEN_HMAC_KEYS", err == nil || len(keys) == 0, "%v", err)
		s.Adyen = &ingress.AdyenWebhookConfig{
			Verifier: v,
			Username: env.Required("ADYEN_WEBHOOK_USERNAME"),
			Password: env.Required("ADYEN_WEBHOOK_PASSWORD"),
		}
	}
	if user := env.String("CLEVERBRIDGE_USERNAME"); user != "" || served[cleverbridge.Name] {
		s.Cleverbridge = &ingress.CleverbridgeWebhookConfig{Username: env.Required("CLEVERBRIDGE_USERNAME"), Password: env.Required("CLEVERBRIDGE_PASSWORD")}
	}
	return s
}

// readPaymentMethods reads PAYMENT_METHODS, which both roles need.
func readPaymentMethods(env *config.Env) map[string]string {
	methods := env.Pairs("PAYMENT_METHODS")
	env.Check("PAYMENT_METHODS", len(methods) > 0, "required: map each Cleeng paymentMethodId to a gateway, e.g. 123876432=adyen")
	return methods
}

// readPaymentMethodTypes reads PAYMENT_METHOD_TYPES: the types of each
// paymentMethodId, which must be one PAYMENT_METHODS routes.
func readPaymentMethodTypes(env *config.Env) map[string][]string {
	routed := readPaymentMethods(env)
	out := map[string][]string{}
	for id, types := range env.Pairs("PAYMENT_METHOD_TYPES") {
		env.Check("PAYMENT_METHOD_TYPES", routed[id] != "", "paymentMethodId %s is not in PAYMENT_METHODS", id)
		out[id] = strings.Split(types, "|")
	}
	return out
}

// readExternallyManaged reads EXTERNALLY_MANAGED_METHODS: paymentMethodIds
// PAYMENT_METHODS routes, whose gateway bills by itself.
func readExternallyManaged(env *config.Env) []string {
	routed := readPaymentMethods(env)
	ids := env.List("EXTERNALLY_MANAGED_METHODS")
	for _, id := range ids {
		env.Check("EXTERNALLY_MANAGED_METHODS", routed[id] != "", "paymentMethodId %s is not in PAYMENT_METHODS", id)
	}
	return ids
}

// servedGateways are the gateways PAYMENT_METHODS routes payments to.
func servedGateways(env *config.Env) map[string]bool {
	served := map[string]bool{}
	for _, gateway := range readPaymentMethods(env) {
		env.Check("PAYMENT_METHODS", gateway == adyen.Name || gateway == cleverbridge.Name,
			"%q is not a gateway: %s or %s", gateway, adyen.Name, cleverbridge.Name)
		served[gateway] = true
	}
	return served
}

// readWorkerSettings reads the worker variables.
func readWorkerSettings(env *config.Env, log zerolog.Logger, reg prometheus.Registerer) roles.WorkerSettings {
	s := roles.WorkerSettings{
		Flows: env.List("WORKER_FLOWS"),
		Runtime: workers.Config{Concurrency: env.Int("WORKER_CONCURRENCY"), AckWait: env.Duration("WORKER_ACK_WAIT"),
			Schedule: env.Durations("WORKER_RETRY_SCHEDULE"), Logger: log, Metrics: reg},
		Cleeng: cleeng.Config{
			BaseURL:        env.URL("CLEENG_API_URL"),
			PublisherToken: env.Required("CLEENG_PUBLISHER_TOKEN"),
			MaxConnections: env.Int("CLEENG_MAX_CONNECTIONS"),
			Logger:         log,
		},
		Methods: readPaymentMethods(env),
		Options: flows.Options{
			DeleteDeactivatedDetails: env.Bool("DEACTIVATE_DELETE_DETAILS"),
			ZeroAuthCurrency:         env.String("ZERO_AUTH_CURRENCY"),
			NotificationTimeout:      env.Duration("CLEVERBRIDGE_NOTIFICATION_TIMEOUT"),
			AllowedPaymentMethods:    map[string][]string{adyen.Name: env.List("ADYEN_ALLOWED_PAYMENT_METHODS")},
			PaymentMethodTypes:       readPaymentMethodTypes(env),
			ExternallyManagedMethods: readExternallyManaged(env),
		},
	}
	if env.String("CLEVERBRIDGE_API_URL") != "" {
		s.Cleverbridge = &cleverbridge.Config{
			BaseURL:   env.URL("CLEVERBRIDGE_API_URL"),
			Username:  env.Required("CLEVERBRIDGE_USERNAME"),
			Password:  env.Required("CLEVERBRIDGE_PASSWORD"),
			ProductID: env.Required("CLEVERBRIDGE_PRODUCT_ID"),
			Mode:      env.OneOf("CLEVERBRIDGE_MODE", cleverbridge.ModeInteractive, cleverbridge.ModeNonInteractive),
		}
	}
	s.Replicas = env.Int("WORKER_REPLICAS")
	s.Guards = map[string]guard.Limits{}
	if s.Cleverbridge != nil {
		s.Guards[cleverbridge.Name] = readGuard(env, "CLEVERBRIDGE", s)
	}
	if env.String("ADYEN_API_KEY") != "" {
		s.Guards[adyen.Name] = readGuard(env, "ADYEN", s)
		s.Adyen = &adyen.Config{
			APIKey:          env.String("ADYEN_API_KEY"),
			MerchantAccount: env.Required("ADYEN_MERCHANT_ACCOUNT"),
			Environment:     env.OneOf("ADYEN_ENVIRONMENT", "test", "live"),
			LivePrefix:      env.String("ADYEN_LIVE_PREFIX"),
			CheckoutURL:     env.URL("ADYEN_CHECKOUT_URL"),
			ReturnURL:       env.Required("ADYEN_RETURN_URL"),
		}
	}
	return s
}

// readGuard reads a gateway's limits (variables <prefix>_RATE_LIMIT, ...)
// and checks that a call never waits its turn past half the handler's
// time: every handler of the worker (WORKER_CONCURRENCY per flow it runs)
// may be waiting for the gateway at once, served at this replica's share
// of the rate. The other half is the call's and the rest of the flow's.
func readGuard(env *config.Env, prefix string, s roles.WorkerSettings) guard.Limits {
	l := guard.Limits{
		Rate:     rate.Limit(env.Float(prefix + "_RATE_LIMIT")),
		Burst:    env.Int(prefix + "_RATE_BURST"),
		Failures: env.Int(prefix + "_BREAKER_FAILURES"),
		Cooldown: env.Duration(prefix + "_BREAKER_COOLDOWN"),
	}
	flowsRun := len(s.Flows)
	if flowsRun == 0 {
		flowsRun = len(flows.Names)
	}
	handlers := s.Runtime.Concurrency * flowsRun
	share := l.Share(s.Replicas)
	longest := workers.DefaultHandlerTimeout / 2
	env.Check(prefix+"_RATE_LIMIT", share.MaxWait(handlers) <= longest,
		"%v calls/s shared by WORKER_REPLICAS=%d leaves each worker %.2f/s, at which its %d handlers (WORKER_CONCURRENCY %d × %d flows) could wait %v for their turn, more than half the handler timeout (%v): raise it, lower WORKER_CONCURRENCY, or run fewer flows per worker (WORKER_FLOWS)",
		float64(l.Rate), s.Replicas, float64(share.Rate), handlers, s.Runtime.Concurrency, flowsRun, share.MaxWait(handlers).Round(time.Second), longest)
	return l
}
