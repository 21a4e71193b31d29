package feeds

// DefaultSources returns the built-in list of well-known privacy news feeds,
// loaded when no --feeds file is given. Digital-rights groups and privacy
// projects are OnTopic (every story shown); general tech and security outlets
// are not (their stories are shown when they are about privacy). The slice is
// new on every call, so callers may change it.
func DefaultSources() []Source {
	return []Source{
		// Digital-rights groups and privacy projects: wholly on topic.
		{URL: "https://www.eff.org/rss/updates.xml", Title: "EFF Deeplinks", SiteURL: "https://www.eff.org/deeplinks", OnTopic: true},
		{URL: "https://privacyinternational.org/rss.xml", Title: "Privacy International", SiteURL: "https://privacyinternational.org/", OnTopic: true},
		{URL: "https://noyb.eu/en/rss.xml", Title: "noyb", SiteURL: "https://noyb.eu/en", OnTopic: true},
		{URL: "https://www.accessnow.org/feed/", Title: "Access Now", SiteURL: "https://www.accessnow.org/", OnTopic: true},
		{URL: "https://edri.org/feed/", Title: "EDRi", SiteURL: "https://edri.org/", OnTopic: true},
		{URL: "https://epic.org/feed/", Title: "EPIC", SiteURL: "https://epic.org/", OnTopic: true},
		{URL: "https://www.openrightsgroup.org/feed/", Title: "Open Rights Group", SiteURL: "https://www.openrightsgroup.org/", OnTopic: true},
		{URL: "https://citizenlab.ca/feed/", Title: "The Citizen Lab", SiteURL: "https://citizenlab.ca/", OnTopic: true},
		{URL: "https://blog.torproject.org/rss.xml", Title: "The Tor Project blog", SiteURL: "https://blog.torproject.org/", OnTopic: true},

		// Security journalists and the security desks of tech outlets.
		{URL: "https://krebsonsecurity.com/feed/", Title: "Krebs on Security", SiteURL: "https://krebsonsecurity.com/"},
		{URL: "https://www.schneier.com/feed/atom/", Title: "Schneier on Security", SiteURL: "https://www.schneier.com/"},
		{URL: "https://therecord.media/feed/", Title: "The Record", SiteURL: "https://therecord.media/"},
		{URL: "https://www.theregister.com/security/headlines.atom", Title: "The Register: Security", SiteURL: "https://www.theregister.com/security/"},
		{URL: "https://feeds.arstechnica.com/arstechnica/security", Title: "Ars Technica: Security", SiteURL: "https://arstechnica.com/security/"},
		{URL: "https://feeds.arstechnica.com/arstechnica/tech-policy", Title: "Ars Technica: Tech Policy", SiteURL: "https://arstechnica.com/tech-policy/"},
		{URL: "https://www.wired.com/feed/category/security/latest/rss", Title: "Wired: Security", SiteURL: "https://www.wired.com/category/security/"},
		{URL: "https://techcrunch.com/category/security/feed/", Title: "TechCrunch: Security", SiteURL: "https://techcrunch.com/category/security/"},
		{URL: "https://www.bleepingcomputer.com/feed/", Title: "BleepingComputer", SiteURL: "https://www.bleepingcomputer.com/"},
		{URL: "https://www.theguardian.com/technology/data-protection/rss", Title: "The Guardian: Data protection", SiteURL: "https://www.theguardian.com/technology/data-protection"},
	}
}
