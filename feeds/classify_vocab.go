package feeds

// vocabularyTable is the Classifier's vocabulary: "weight | tags | forms", the
// forms of one concept separated by semicolons (see compileVocab). A concept
// counts once per field whatever form matched; titles count double; a raw
// score of about 3 is relevance 0.5. Forms are folded by the shared tokenizer,
// so "breaches" and "breached" both meet "breach"; list other inflections.
//
// A weight written "~w" marks a modifier: a generic word that counts fully
// only next to an anchor (see classify.go).
//
// The weights were set by reading the dev rows of
// testdata/labelled/headlines.tsv, never the held-out ones.
const vocabularyTable = `
# --- privacy itself -------------------------------------------------------
2.5 | -            | privacy; privacy-invasive; privacy-focused; privacy advocates; privacy groups; privacy labels
1.5 | messaging    | private messages; private chats; private conversations
1.5 | -            | private photos; private data; private information
~0.3 | -           | private
2.0 | -            | personal data; personal information; personal details; personally identifiable; pii; user data; customer data
1.5 | -            | account details; account information; contact details; identity documents; id scans
1.2 | -            | data protection; protect data; sensitive data; sensitive information
1.0 | -            | consent; without consent; without their knowledge; without telling; without permission; informed consent
~0.8 | -           | opt out; opted in by default; opt in; on by default
1.0 | -            | anonymity; anonymous; anonymised; anonymized; deanonymize; unmask; pseudonymous
1.0 | -            | data collection; collect data; collects data about; harvest data; harvested
1.0 | -            | delete data; delete their data; right to delete; deletion requests; access requests; right to be forgotten; data minimization; data minimisation
~0.3 | -           | data; collected
~0.8 | -           | identities; real names; identify; reveal identities
~0.8 | -           | dox; intimate images; intimate; nonconsensual
1.5 | -            | voice recordings; audio recordings; secretly recorded; recordings
~0.6 | -           | handed over; hand data; disclose
1.0 | -            | ai training; train ai; used to train; train generative ai

# --- encryption --------------------------------------------------------------
2.5 | encryption   | encryption; end-to-end; e2ee; end-to-end encrypted; end-to-end encryption
2.0 | encryption   | encrypt; unencrypted
2.5 | encryption   | encryption backdoor; lawful access; exceptional access; key escrow; break encryption; weaken encryption
~1.0 | encryption  | backdoor
2.0 | encryption   | client-side scanning; chat control; scan messages; scanning of private messages
~0.8 | encryption  | cryptography; cryptographers; zero-knowledge; post-quantum; decrypt; decryption; plain text; plaintext; encryption keys
1.0 | encryption   | anti-encryption; technical capability notice; online safety act
1.5 | surveillance | eavesdropper; eavesdropping

# --- messaging ---------------------------------------------------------------
~0.8 | messaging   | whatsapp; imessage; telegram; signal app; signal messenger; facebook messenger; signal foundation; signal president
~0.8 | messaging   | messenger; messaging app; messaging provider; chats; encrypted messaging; secure messaging
~0.8 | messaging   | direct messages; dms; read receipts; typing indicators; group chats
~0.3 | messaging   | messages; message contents

# --- metadata ----------------------------------------------------------------
2.5 | metadata     | metadata; who talks to whom; who called whom; who users message; who users talk to; who you talk to
2.0 | metadata     | data retention; call records; call detail records; call logs; phone records; exif; traffic data; connection logs; ip logs
~0.6 | metadata    | dns lookups; dns queries; browsing history; browsing data; subject lines; recipient lists; logs; timestamps
~0.8 | metadata    | ip address

# --- surveillance ------------------------------------------------------------
2.5 | surveillance | surveillance; mass surveillance; surveil; surveilled; snooping; wiretap; snooper's charter
2.0 | surveillance | section 702; fisa; warrantless; without a warrant; geofence warrant; dragnet; reverse keyword warrant
1.0 | surveillance | nsa; gchq; intelligence agencies; spy agency; spy; spy on
2.0 | surveillance | license plate reader; licence plate cameras; plate readers; alpr
2.0 | surveillance | cell-site simulator; imsi catcher; stingray; fake cell towers; fake base stations
2.0 | surveillance | bossware; employee monitoring; worker monitoring; workplace monitoring; monitoring software; productivity software; productivity tracking; keystrokes; keystroke logging; social media monitoring
1.2 | surveillance | monitored
1.5 | surveillance | intercept; interception; lawful interception; real-time interception; tap communications; phone tapping
~0.8 | surveillance | government requests; transparency report; judicial oversight; judge's approval; without a court order
0.6 | surveillance  | warrant; subpoena; legal requests; law enforcement requests; data requests
~0.6 | surveillance | court order
~0.4 | surveillance | police; law enforcement; investigators; border agents; customs officers; immigration agency; federal agencies; officers
1.0 | surveillance | doorbell footage; doorbell cameras; cctv; camera network; device searches; phone searches; searched phones; police drones; drone surveillance
~0.5 | surveillance | cameras; camera footage; footage; watchlist; civil liberties

# --- data breaches -----------------------------------------------------------
3.0 | data-breach  | data breach; data leak; breach exposed; breach exposes
~1.2 | data-breach | breach
~1.0 | data-breach | leak; leak site
~1.0 | data-breach | exposed; exposes; exposure; left exposed
1.5 | data-breach  | unsecured database; unsecured server; exposed database; exposed server; open cloud bucket; misconfigured; without a password; unprotected; open server
1.5 | data-breach  | stole customer data; stolen records; stolen data; stole data; customer records; patient records; user records; voter records; student records
1.5 | data-breach  | social security numbers; passport numbers; passport details; home addresses; phone numbers; email addresses; card numbers; id documents; driver's license numbers; dates of birth
1.5 | data-breach  | identity theft; credit monitoring; notified customers; affected customers; breach notification
~0.8 | data-breach | scraped; dataset; hacking forum; accessed; millions of customers; millions of users; millions of people; stolen passwords
~0.5 | data-breach | hackers; attackers; intrusion; compromised; hacked; stolen; stole

# --- regulation --------------------------------------------------------------
3.0 | regulation   | gdpr; ccpa; cpra; eprivacy
3.0 | regulation,children    | coppa; kids online safety act; kosa
3.0 | regulation,health-data | hipaa
3.0 | regulation,biometrics  | bipa; biometric information privacy act
2.5 | regulation   | data protection commission; data protection authority; data protection agency; information commissioner; cnil; noyb; edpb; privacy regulator; privacy watchdog; privacy commissioner; privacy commission; data regulator; data watchdog
2.5 | regulation   | data privacy framework; privacy shield; data transfers; standard contractual clauses; privacy protection agency; transferring data; transfers of personal data
2.0 | regulation   | privacy law; privacy bill; data protection act; data protection law; privacy act; privacy rules
2.5 | regulation,tracking | pay or consent; consent or pay
~0.8 | regulation  | regulator; watchdog; attorney general; ftc; federal trade commission
~0.6 | regulation  | fine; penalty; settles; settlement; lawsuit; class action; sue; sued; refund; complaint; enforcement
~0.4 | regulation  | law; bill; rules; guidance; court; judges; jury; order; banned

# --- tracking and advertising ------------------------------------------------
2.5 | tracking     | tracking cookies; third-party cookies; cookie consent; cookie banner
1.2 | tracking     | cookie; cookies
1.0 | tracking     | tracking; trackers; bounce tracking; cross-site tracking; online tracking; tracked users
2.5 | tracking     | browser fingerprinting; device fingerprinting; fingerprinting scripts; tracking pixel; meta pixel; app tracking transparency; privacy sandbox; advertising id; advertising identifier
1.5 | tracking     | ad targeting; target ads; targeted advertising; behavioral advertising; behavioural advertising; personalized ads; personalised ads; personalized advertising; personalised advertising; ad tracking; ad-derived; surveillance advertising
2.5 | tracking,location | data broker; brokers
1.0 | tracking     | advertisers; ad networks; ad companies; ad firms; advertising platforms; adtech; ad tech; ad partners; marketing tools; marketing analytics
1.5 | tracking     | sold data; sells data; sold customer data; stop selling; share data; data sharing; shared data with
1.2 | tracking     | automatic content recognition; telemetry; unique identifiers; device identifiers; identifiers; identify visitors; across the web; profiling
~0.4 | tracking    | sold; selling; shared; followed

# --- spyware -----------------------------------------------------------------
3.0 | spyware      | spyware; stalkerware; mercenary spyware; commercial spyware
2.0 | spyware      | pegasus; nso; nso group; predator spyware; intellexa; zero-click; zero-click exploit; threat notifications; surveillance vendor; surveillance tools; phone-hacking; monitoring app; phone-monitoring
~0.8 | spyware     | journalists; activists; dissidents; infected; hacked phones; forensic analysis; microphone

# --- biometrics --------------------------------------------------------------
3.0 | biometrics   | biometric; facial recognition; face recognition; live facial recognition; face scanning; faceprints
1.5 | biometrics   | iris; iris scans; iris codes; eye-scanning; voiceprints; voice prints; voice authentication; voice recognition; face templates; face search; age estimation
~0.5 | biometrics  | face
1.0 | biometrics   | fingerprint

# --- VPNs and anonymity ------------------------------------------------------
1.5 | vpn          | vpn; no-logs; tor; tor project; tor browser; onion services; hidden services; wireguard; openvpn
~0.8 | vpn         | censor; censorship; blocks; throttled

# --- children ----------------------------------------------------------------
2.0 | children     | age verification; age checks; age assurance; parental consent; children's data; children's privacy; kids' data; under 13; student data; estimate age; social media ban
~0.6 | children    | children; kids; minors; students; teens; schools; parents; younger users; under-16; underage

# --- health data -------------------------------------------------------------
2.5 | health-data  | health data; health information; medical records; patient data; genetic data; period-tracking; period tracker; reproductive data; prescription records; medical histories; genetic profiles; patient files
1.0 | health-data  | medical conditions; diagnosis; diagnosis codes; therapy notes; dna; genetic testing; sleep records; prescriptions
~1.0 | health-data | patients; therapy; genetic; pregnancy; abortion; heart rate; mental health; medication
~0.5 | health-data | health; hospital; clinic

# --- location ----------------------------------------------------------------
3.0 | location     | location data; location history; precise location; location tracking; gps coordinates; geolocation; location sharing
1.5 | location     | stalk; stalker; tracking tags; airtags; whereabouts; movements; abusers; domestic abuse; domestic violence; abuse survivors
~0.8 | location    | location; gps

# --- off-topic context (dampens) ---------------------------------------------
-4.0 | -           | privacy fence; privacy hedges; privacy glass; privacy screen
-3.0 | -           | private equity; private credit; private beta; private preview; private 5g; private mobile networks; private jet; privately held; privately built; take private; go private
-1.0 | -           | private space; private company; private sector
-2.0 | -           | data centre; data center; data plan; data cap; tracking data; weather data
-1.0 | -           | web data; training data
-4.0 | -           | security council; food security; energy security; national security; job security
-2.5 | -           | security patches; security software; cybersecurity company
-3.0 | -           | wastewater surveillance; disease surveillance; eye tracking; hand tracking; package tracking; bug tracker; fitness tracking
-3.0 | -           | antitrust; competition rules; gatekeeper; digital markets act; rival app stores; third-party app stores; self-preferencing
-3.0 | -           | encrypted by attackers; systems were encrypted; money laundering; financial regulator
-2.0 | -           | song metadata; music metadata; playlists; track record; on track; fast track
-2.0 | -           | breach of contract; levee; leaked build; leaked images; leaked renders; leaked specs
-3.0 | -           | asks for privacy; respect privacy; respect their privacy; respect his privacy; respect her privacy; respect family privacy; need for privacy; privacy at this time; bereavement
-2.0 | -           | thriller; private life; wedding; celebrity; tabloid
-1.5 | -           | football; striker; club; league; esports; fans; matches; players
-1.0 | -           | earnings; revenue; quarterly; shareholders; valuation; raises; funding round; layoffs; subscribers; ipo
-1.0 | -           | chip; chipmaker; processor; gpu; accelerator; nanometer; memory bandwidth; cache
-1.0 | -           | battery; charging; foldable; headphones; smartwatch; console; trailer; rocket; orbit; spacecraft; telescope; astronomers
-1.0 | -           | production; plants; ddos; botnet; crypto; wallet; exchange; outage; disruption
-1.0 | -           | patches; microcode; kernel; sandbox escape; bug bounty; remote code execution; supply chain; maintainer; npm; packages
-0.8 | -           | benchmarks; model; weights; launches; unveils; gamers; frame rates
`
