module github.com/reaper-init/reaper-init/integration

go 1.26.0

require (
	github.com/creack/pty v1.1.24
	github.com/prometheus/client_model v0.6.1
	github.com/prometheus/common v0.62.0
	golang.org/x/sys v0.49.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/kr/pretty v0.3.1 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	google.golang.org/protobuf v1.36.1 // indirect
)
