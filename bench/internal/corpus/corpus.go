// Package corpus holds the made-up outlets, headlines and comments the
// benchmark programs fill their stores with. They were written for
// Tidings; no real outlet or story is meant.
package corpus

// The parts of a headline (subject, verb, object), the outlets, a detail
// sentence for summaries, the tag sets, commenters' names and comment
// sentences.
var (
	Outlets  = []string{"Byteline", "Night Watch", "Rights Wire", "Packet Post", "The Ledger", "Signal Hill", "Open Ports", "Data Desk", "Civic Tech", "Lockstep", "Mesh News", "Clear Text"}
	Subjects = []string{"WhatsApp", "A Health App Maker", "The EU Commission", "A Ring Camera Rival", "Google", "Apple", "A Data Broker", "Meta", "The FTC", "A VPN Provider", "Signal", "A School District", "Microsoft", "A Fitness Tracker Firm", "The UK Home Office", "Mozilla", "TikTok"}
	Verbs    = []string{"Faces Questions Over", "Is Fined for", "Quietly Changes", "Defends", "Pauses", "Is Sued Over", "Publishes a Report on", "Expands", "Drops Plans for", "Admits Flaws in", "Opens an Inquiry into", "Tightens Rules on", "Is Criticised for", "Settles a Case over", "Reverses Course on", "Details", "Audits", "Appeals a Ruling on"}
	Objects  = []string{
		"Location Data Sales", "End-to-End Encryption Backups", "Facial Recognition at Stations",
		"Message Metadata Retention", "Children's Data Collection", "Ad Tracking in Health Apps",
		"Client-Side Scanning", "Biometric Logins", "Cookie Consent Banners", "Data Breach Disclosures",
		"Voice Assistant Recordings", "Cross-Border Data Transfers", "Employee Monitoring Software",
	}
	Details = []string{
		"Logs kept for up to two years included approximate locations.",
		"The change was announced in a help-centre article rather than to users directly.",
		"Security researchers reproduced the issue on three phone models.",
		"Campaigners said the opt-out was hidden four menus deep.",
		"The regulator's letter runs to forty pages and lists eleven concerns.",
		"An internal memo put the number of affected accounts at 2.3 million.",
	}
	TagSets = [][]string{
		{"encryption", "messaging"}, {"health-data", "tracking"}, {"regulation", "gdpr"},
		{"surveillance", "biometrics"}, {"data-breach"}, {"tracking", "advertising"},
		{"children", "regulation"}, {"metadata", "messaging"},
	}
	Names = []string{
		"Ada Lindqvist", "Ben Ortiz", "Chloé Martin", "Dmitri Volkov", "Eitan Shapiro", "Fatima Rahman",
		"Gus", "Hana Sato", "Ines Duarte", "Jonas Weber", "Kofi Mensah", "Lena Fischer", "Marco Rossi",
		"Nadia K.", "Oliver Grant", "Priya Nair", "quietreader", "Rosa Jiménez", "Sam Taylor", "Tomás Novák",
	}
	Sentences = []string{
		"This is exactly what people warned about when the feature launched.",
		"I switched to a different app last year for this reason.",
		"Does anyone know whether the EU version behaves differently?",
		"The fine sounds large until you compare it with their quarterly revenue.",
		"Metadata is data, and often the most revealing part.",
		"Good to see a regulator actually reading the privacy policy.",
		"My employer requires this app, so opting out isn't really an option.",
		"They said the same thing in 2019 & nothing changed.",
		"I'd like to see the full report before drawing conclusions.",
		"End-to-end encryption only helps if the backups are encrypted too.",
		"Turning it off took me eleven taps, which can't be an accident.",
		"Honestly, \"we take privacy seriously\" has become a warning sign.",
		"Hard to consent to something you can't find in the settings.",
		"Not convinced: the researchers tested an old version.",
	}
)
