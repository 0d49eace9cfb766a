// Package demo makes `webcare demo` feel like a real webcare desk on its first
// start: Seed fills an empty store with the fictional Heron Airlines (@HeronAir,
// flights HN…, hub Amsterdam), its agents, channels, templates and a year of
// contact history; Simulator then posts a steady stream of customer messages,
// with an ash-cloud style surge on request; PlatformSimulator stands in for
// the platforms a reply would go to.
//
// A demo command wires it up in this order:
//
//	seeded, err := demo.Seed(ctx, st, time.Now())
//	// start the server on st, with demo.NewPlatformSimulator(seed) as the
//	// outbox.Sender for every channel kind, then:
//	sim := &demo.Simulator{BaseURL: url, Channels: seeded.Channels, Regulars: seeded.Regulars,
//		Rate: 2, Surge: demo.SurgeProfile{At: 3 * time.Minute, Factor: 10, For: 2 * time.Minute}, Log: log}
//	go sim.Run(ctx)
//	fmt.Printf("log in as %s / %s\n", seeded.Email, seeded.Password)
//
// Everything here is made up. KLM's webcare team is the story behind the
// product, never a customer in it: names, handles, phone numbers and
// addresses are fictional and use reserved example domains.
package demo
