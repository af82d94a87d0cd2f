package main

// The images are FROM scratch: no CA roots and no zoneinfo on disk. These
// embed both, used only when the system has none.
import (
	_ "time/tzdata"

	_ "golang.org/x/crypto/x509roots/fallback"
)
