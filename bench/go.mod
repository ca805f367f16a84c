module github.com/trailkit/trail/bench

go 1.25.0

require (
	github.com/klauspost/compress v1.20.4
	github.com/rs/zerolog v1.35.1
	github.com/trailkit/trail v0.0.0-00010101000000-000000000000
	go.uber.org/zap v1.27.0
)

require (
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.47.0 // indirect
)

replace github.com/trailkit/trail => ../
