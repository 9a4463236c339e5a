-- revision 0002, before parse results and the queue's claims: 88305b2.sql upgraded by nianbao at acbbcc2, made by make_fixtures.py
BEGIN TRANSACTION;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "alembic_version" VALUES('0002');
CREATE TABLE captures (
	id INTEGER NOT NULL, 
	run_id INTEGER, 
	site VARCHAR(64) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	url TEXT NOT NULL, 
	final_url TEXT NOT NULL, 
	method VARCHAR(8) NOT NULL, 
	status INTEGER NOT NULL, 
	protocol VARCHAR(32), 
	headers JSON NOT NULL, 
	fetched_at DATETIME NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	size INTEGER NOT NULL, 
	content_type TEXT, 
	referrer TEXT, 
	year INTEGER, 
	agency TEXT, 
	agency_kind VARCHAR(16), 
	title TEXT, 
	filename TEXT, 
	year_source VARCHAR(16), 
	judgement TEXT, 
	novelty VARCHAR(8), url_key TEXT, final_url_key TEXT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES runs (id)
);
INSERT INTO "captures" VALUES(1,1,'wanzai','list','http://www.wanzai.gov.cn/col/col1/','http://www.wanzai.gov.cn/col/col1/','GET',200,'HTTP/1.1','[["Content-Type", "text/html; charset=gbk"], ["Server", "nginx"]]','2024-03-01 08:00:00.123456','1111111111111111111111111111111111111111111111111111111111111111',3,'text/html',NULL,NULL,'万载县人民政府','county',NULL,NULL,'title','title: 年度报告','new','cn,gov,wanzai)/col/col1','cn,gov,wanzai)/col/col1');
INSERT INTO "captures" VALUES(2,1,'wanzai','report','http://www.wanzai.gov.cn/art/2024/1/15/art_1_1.html','http://www.wanzai.gov.cn/art/2024/1/15/art_1_1.html','GET',200,'HTTP/1.1','[["Content-Type", "text/html; charset=gbk"], ["Server", "nginx"]]','2024-03-01 08:00:00.123456','2222222222222222222222222222222222222222222222222222222222222222',3,'text/html',NULL,2023,'万载县人民政府','county','万载县2023年政府信息公开工作年度报告',NULL,'title','title: 年度报告','new','cn,gov,wanzai)/art/2024/1/15/art_1_1.html','cn,gov,wanzai)/art/2024/1/15/art_1_1.html');
INSERT INTO "captures" VALUES(3,1,'wanzai','attachment','http://www.wanzai.gov.cn/年报.pdf','https://Www.Wanzai.gov.cn/%E5%B9%B4%E6%8A%A5.pdf','GET',200,'HTTP/1.1','[["Content-Type", "text/html; charset=gbk"], ["Server", "nginx"]]','2024-03-02 08:00:00.123456','3333333333333333333333333333333333333333333333333333333333333333',3,'application/pdf',NULL,2023,'万载县人民政府','county','万载县2023年政府信息公开工作年度报告',NULL,'title','title: 年度报告','new','cn,gov,wanzai)/%E5%B9%B4%E6%8A%A5.pdf','cn,gov,wanzai)/%E5%B9%B4%E6%8A%A5.pdf');
INSERT INTO "captures" VALUES(4,2,'wanzai','report','http://www.wanzai.gov.cn/art/2024/1/15/art_1_1.html','http://www.wanzai.gov.cn/art/2024/1/15/art_1_1.html','GET',200,'HTTP/1.1','[["Content-Type", "text/html; charset=gbk"], ["Server", "nginx"]]','2024-03-08 08:00:00.123456','4444444444444444444444444444444444444444444444444444444444444444',3,'text/html',NULL,2023,'万载县人民政府','county','万载县2023年政府信息公开工作年度报告',NULL,'title','title: 年度报告','changed','cn,gov,wanzai)/art/2024/1/15/art_1_1.html','cn,gov,wanzai)/art/2024/1/15/art_1_1.html');
INSERT INTO "captures" VALUES(5,2,'wanzai','report','http://www.wanzai.gov.cn/old.html','http://www.wanzai.gov.cn/old.html','GET',404,'HTTP/1.1','[["Content-Type", "text/html; charset=gbk"], ["Server", "nginx"]]','2024-03-08 08:00:00.123456','5555555555555555555555555555555555555555555555555555555555555555',3,'text/html',NULL,2023,'万载县人民政府','county','万载县2023年政府信息公开工作年度报告',NULL,'title','title: 年度报告','gone','cn,gov,wanzai)/old.html','cn,gov,wanzai)/old.html');
CREATE TABLE discovered_lists (
	id INTEGER NOT NULL, 
	site VARCHAR(64) NOT NULL, 
	url TEXT NOT NULL, 
	run_id INTEGER, 
	found_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES runs (id)
);
INSERT INTO "discovered_lists" VALUES(1,'wanzai','http://www.wanzai.gov.cn/col/col1/',1,'2024-03-01 08:00:00.123456');
CREATE TABLE failures (
	id INTEGER NOT NULL, 
	run_id INTEGER, 
	site VARCHAR(64) NOT NULL, 
	url TEXT NOT NULL, 
	kind VARCHAR(16), 
	reason TEXT NOT NULL, 
	at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES runs (id)
);
INSERT INTO "failures" VALUES(1,2,'wanzai','http://www.wanzai.gov.cn/x.html','report','HTTP 503: busy','2024-03-08 08:00:00.123456');
CREATE TABLE fixity_audits (
	id INTEGER NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME NOT NULL, 
	storage TEXT NOT NULL, 
	sample INTEGER, 
	checked INTEGER NOT NULL, 
	missing INTEGER NOT NULL, 
	corrupt INTEGER NOT NULL, 
	unreadable INTEGER NOT NULL, 
	problems JSON NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "fixity_audits" VALUES(1,'2024-03-08 08:00:00.123456','2024-03-08 08:00:00.123456','file:///srv/objects',NULL,4,0,0,0,'[]');
CREATE TABLE parse_queue (
	id INTEGER NOT NULL, 
	capture_id INTEGER NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	enqueued_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (capture_id), 
	FOREIGN KEY(capture_id) REFERENCES captures (id)
);
INSERT INTO "parse_queue" VALUES(1,2,'2222222222222222222222222222222222222222222222222222222222222222','pending','2024-03-01 08:00:00.123456');
INSERT INTO "parse_queue" VALUES(2,4,'4444444444444444444444444444444444444444444444444444444444444444','done','2024-03-08 08:00:00.123456');
CREATE TABLE run_sites (
	run_id INTEGER NOT NULL, 
	site VARCHAR(64) NOT NULL, 
	PRIMARY KEY (run_id, site), 
	FOREIGN KEY(run_id) REFERENCES runs (id)
);
INSERT INTO "run_sites" VALUES(1,'wanzai');
INSERT INTO "run_sites" VALUES(1,'xunwu');
INSERT INTO "run_sites" VALUES(2,'wanzai');
CREATE TABLE runs (
	id INTEGER NOT NULL, 
	"trigger" VARCHAR(32) NOT NULL, 
	sites JSON NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	status VARCHAR(16) NOT NULL, 
	stats JSON NOT NULL, 
	updated_at DATETIME, 
	host VARCHAR(255), 
	pid INTEGER, 
	log_sha256 VARCHAR(64), 
	PRIMARY KEY (id)
);
INSERT INTO "runs" VALUES(1,'manual','["wanzai", "xunwu"]','2024-03-01 08:00:00.123456','2024-03-01 08:00:00.123456','finished','{"wanzai/report": 2}',NULL,NULL,NULL,NULL);
INSERT INTO "runs" VALUES(2,'manual','["wanzai"]','2024-03-08 08:00:00.123456','2024-03-08 08:00:00.123456','finished','{"wanzai/report": 2}',NULL,NULL,NULL,NULL);
CREATE TABLE url_checks (
	site VARCHAR(64) NOT NULL, 
	url TEXT NOT NULL, 
	url_key TEXT NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	checked_at DATETIME NOT NULL, 
	changed_at DATETIME, 
	interval INTEGER NOT NULL, 
	next_check_at DATETIME NOT NULL, 
	PRIMARY KEY (site, url)
);
INSERT INTO "url_checks" VALUES('wanzai','http://www.wanzai.gov.cn/art/2024/1/15/art_1_1.html','cn,gov,wanzai)/art/2024/1/15/art_1_1.html','report','2024-03-08 08:00:00.123456','2024-03-08 08:00:00.123456',604800,'2024-03-15 08:00:00.123456');
INSERT INTO "url_checks" VALUES('wanzai','http://www.wanzai.gov.cn/年报.pdf','cn,gov,wanzai)/%E5%B9%B4%E6%8A%A5.pdf','attachment','2024-03-02 08:00:00.123456','2024-03-02 08:00:00.123456',604800,'2024-03-09 08:00:00.123456');
INSERT INTO "url_checks" VALUES('wanzai','http://www.wanzai.gov.cn/old.html','cn,gov,wanzai)/old.html','report','2024-03-08 08:00:00.123456',NULL,604800,'2024-03-15 08:00:00.123456');
CREATE INDEX ix_runs_status ON runs (status);
CREATE INDEX ix_run_sites_site ON run_sites (site);
CREATE INDEX ix_captures_sha256 ON captures (sha256);
CREATE INDEX ix_captures_url ON captures (url);
CREATE INDEX ix_captures_fetched_at ON captures (fetched_at);
CREATE INDEX ix_captures_year ON captures (year);
CREATE INDEX ix_captures_site_kind_year ON captures (site, kind, year);
CREATE INDEX ix_captures_run_id ON captures (run_id);
CREATE INDEX ix_captures_final_url ON captures (final_url);
CREATE INDEX ix_captures_site ON captures (site);
CREATE INDEX ix_failures_site ON failures (site);
CREATE INDEX ix_failures_run_id ON failures (run_id);
CREATE INDEX ix_discovered_lists_site ON discovered_lists (site);
CREATE INDEX ix_parse_queue_sha256 ON parse_queue (sha256);
CREATE INDEX ix_parse_queue_state ON parse_queue (state);
CREATE INDEX ix_captures_url_key ON captures (url_key);
CREATE INDEX ix_captures_final_url_key ON captures (final_url_key);
CREATE INDEX ix_url_checks_url_key ON url_checks (url_key);
CREATE INDEX ix_url_checks_next_check_at ON url_checks (next_check_at);
COMMIT;
