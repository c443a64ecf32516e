CREATE TABLE agents (
	id BIGSERIAL NOT NULL, 
	username VARCHAR(64) NOT NULL, 
	email VARCHAR(320) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	password_hash VARCHAR(255), 
	roles JSONB NOT NULL, 
	skills JSONB NOT NULL, 
	capacity INTEGER NOT NULL, 
	calendar VARCHAR(64), 
	language VARCHAR(16), 
	away BOOLEAN NOT NULL, 
	active BOOLEAN NOT NULL, 
	manager_id BIGINT, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_agents PRIMARY KEY (id), 
	CONSTRAINT uq_agents_username UNIQUE (username), 
	CONSTRAINT uq_agents_email UNIQUE (email), 
	CONSTRAINT fk_agents_manager_id_agents FOREIGN KEY(manager_id) REFERENCES agents (id) ON DELETE SET NULL
);

CREATE INDEX ix_agents_manager_id ON agents (manager_id);

CREATE TABLE intake_cursors (
	mailbox VARCHAR(64) NOT NULL, 
	folder VARCHAR(200) NOT NULL, 
	uidvalidity BIGINT NOT NULL, 
	last_uid BIGINT NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_intake_cursors PRIMARY KEY (mailbox, folder)
);

CREATE TABLE jobs (
	id BIGSERIAL NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	payload JSONB NOT NULL, 
	run_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	attempts INTEGER NOT NULL, 
	locked_until TIMESTAMP WITH TIME ZONE, 
	last_error TEXT, 
	done_at TIMESTAMP WITH TIME ZONE, 
	CONSTRAINT pk_jobs PRIMARY KEY (id)
);

CREATE INDEX ix_jobs_done_at_run_at ON jobs (done_at, run_at);

CREATE TABLE kb_changes (
	id BIGSERIAL NOT NULL, 
	article_id BIGINT NOT NULL, 
	changed_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_kb_changes PRIMARY KEY (id)
);

CREATE TABLE organizations (
	id BIGSERIAL NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	domain VARCHAR(253), 
	notes TEXT, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_organizations PRIMARY KEY (id), 
	CONSTRAINT uq_organizations_name UNIQUE (name)
);

CREATE INDEX ix_organizations_domain ON organizations (domain);

CREATE TABLE ref_locations (
	id BIGSERIAL NOT NULL, 
	code VARCHAR(16), 
	name VARCHAR(120), 
	address TEXT, 
	timezone VARCHAR(64), 
	active BOOLEAN NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_ref_locations PRIMARY KEY (id)
);

CREATE UNIQUE INDEX ix_ref_locations_code ON ref_locations (code);

CREATE TABLE ticket_counters (
	prefix VARCHAR(8) NOT NULL, 
	last_number BIGINT NOT NULL, 
	CONSTRAINT pk_ticket_counters PRIMARY KEY (prefix)
);

CREATE TABLE api_tokens (
	id BIGSERIAL NOT NULL, 
	agent_id BIGINT NOT NULL, 
	token_hash VARCHAR(64) NOT NULL, 
	label VARCHAR(200) NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	scopes JSONB, 
	expires_at TIMESTAMP WITH TIME ZONE, 
	last_used_at TIMESTAMP WITH TIME ZONE, 
	revoked_at TIMESTAMP WITH TIME ZONE, 
	CONSTRAINT pk_api_tokens PRIMARY KEY (id), 
	CONSTRAINT fk_api_tokens_agent_id_agents FOREIGN KEY(agent_id) REFERENCES agents (id) ON DELETE CASCADE, 
	CONSTRAINT uq_api_tokens_token_hash UNIQUE (token_hash)
);

CREATE INDEX ix_api_tokens_agent_id ON api_tokens (agent_id);

CREATE TABLE contacts (
	id BIGSERIAL NOT NULL, 
	email VARCHAR(320), 
	name VARCHAR(200), 
	phone VARCHAR(40), 
	language VARCHAR(16), 
	organization_id BIGINT, 
	bounced_at TIMESTAMP WITH TIME ZONE, 
	password_hash VARCHAR(255), 
	sees_organization_tickets BOOLEAN, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_contacts PRIMARY KEY (id), 
	CONSTRAINT uq_contacts_email UNIQUE (email), 
	CONSTRAINT fk_contacts_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE SET NULL
);

CREATE INDEX ix_contacts_organization_id ON contacts (organization_id);

CREATE TABLE kb_articles (
	id BIGSERIAL NOT NULL, 
	title VARCHAR(300) NOT NULL, 
	problem TEXT NOT NULL, 
	solution TEXT NOT NULL, 
	category VARCHAR(64), 
	language VARCHAR(16) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	visibility VARCHAR(16) NOT NULL, 
	translation_of_id BIGINT, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	keywords JSONB, 
	version INTEGER, 
	views INTEGER, 
	helpful INTEGER, 
	not_helpful INTEGER, 
	author_agent_id BIGINT, 
	reviewer_agent_id BIGINT, 
	published_at TIMESTAMP WITH TIME ZONE, 
	update_of_id BIGINT, 
	CONSTRAINT pk_kb_articles PRIMARY KEY (id), 
	CONSTRAINT fk_kb_articles_translation_of_id_kb_articles FOREIGN KEY(translation_of_id) REFERENCES kb_articles (id) ON DELETE SET NULL, 
	CONSTRAINT fk_kb_articles_author_agent_id_agents FOREIGN KEY(author_agent_id) REFERENCES agents (id) ON DELETE SET NULL, 
	CONSTRAINT fk_kb_articles_reviewer_agent_id_agents FOREIGN KEY(reviewer_agent_id) REFERENCES agents (id) ON DELETE SET NULL, 
	CONSTRAINT fk_kb_articles_update_of_id_kb_articles FOREIGN KEY(update_of_id) REFERENCES kb_articles (id) ON DELETE SET NULL
);

CREATE INDEX ix_kb_articles_status_visibility_language ON kb_articles (status, visibility, language);

CREATE INDEX ix_kb_articles_translation_of_id ON kb_articles (translation_of_id);

CREATE INDEX ix_kb_articles_update_of_id ON kb_articles (update_of_id);

CREATE TABLE ref_assets (
	id BIGSERIAL NOT NULL, 
	asset_tag VARCHAR(32), 
	name VARCHAR(120), 
	asset_class VARCHAR(64), 
	manufacturer VARCHAR(80), 
	model VARCHAR(80), 
	serial_number VARCHAR(64), 
	location BIGINT, 
	commissioned_on DATE, 
	active BOOLEAN NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_ref_assets PRIMARY KEY (id), 
	CONSTRAINT fk_ref_assets_location_ref_locations FOREIGN KEY(location) REFERENCES ref_locations (id) ON DELETE SET NULL
);

CREATE UNIQUE INDEX ix_ref_assets_asset_tag ON ref_assets (asset_tag);

CREATE INDEX ix_ref_assets_serial_number ON ref_assets (serial_number);

CREATE TABLE saved_views (
	id BIGSERIAL NOT NULL, 
	agent_id BIGINT NOT NULL, 
	name VARCHAR(80) NOT NULL, 
	query VARCHAR(2000) NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_saved_views PRIMARY KEY (id), 
	CONSTRAINT uq_saved_views_agent_id_name UNIQUE (agent_id, name), 
	CONSTRAINT fk_saved_views_agent_id_agents FOREIGN KEY(agent_id) REFERENCES agents (id) ON DELETE CASCADE
);

CREATE TABLE teams (
	id BIGSERIAL NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	label VARCHAR(200) NOT NULL, 
	email VARCHAR(320), 
	lead_id BIGINT, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_teams PRIMARY KEY (id), 
	CONSTRAINT uq_teams_name UNIQUE (name), 
	CONSTRAINT fk_teams_lead_id_agents FOREIGN KEY(lead_id) REFERENCES agents (id) ON DELETE SET NULL
);

CREATE TABLE kb_article_versions (
	id BIGSERIAL NOT NULL, 
	article_id BIGINT NOT NULL, 
	version INTEGER NOT NULL, 
	title VARCHAR(300) NOT NULL, 
	problem TEXT NOT NULL, 
	solution TEXT NOT NULL, 
	category VARCHAR(64), 
	keywords JSONB, 
	status VARCHAR(16) NOT NULL, 
	edited_by VARCHAR(200) NOT NULL, 
	edited_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	note TEXT, 
	CONSTRAINT pk_kb_article_versions PRIMARY KEY (id), 
	CONSTRAINT uq_kb_article_versions_article_id_version UNIQUE (article_id, version), 
	CONSTRAINT fk_kb_article_versions_article_id_kb_articles FOREIGN KEY(article_id) REFERENCES kb_articles (id) ON DELETE CASCADE
);

CREATE TABLE team_members (
	team_id BIGINT NOT NULL, 
	agent_id BIGINT NOT NULL, 
	CONSTRAINT pk_team_members PRIMARY KEY (team_id, agent_id), 
	CONSTRAINT fk_team_members_team_id_teams FOREIGN KEY(team_id) REFERENCES teams (id) ON DELETE CASCADE, 
	CONSTRAINT fk_team_members_agent_id_agents FOREIGN KEY(agent_id) REFERENCES agents (id) ON DELETE CASCADE
);

CREATE INDEX ix_team_members_agent_id ON team_members (agent_id);

CREATE TABLE tickets (
	id BIGSERIAL NOT NULL, 
	number VARCHAR(32) NOT NULL, 
	type VARCHAR(64) NOT NULL, 
	title VARCHAR(300) NOT NULL, 
	description TEXT NOT NULL, 
	status VARCHAR(64) NOT NULL, 
	status_category VARCHAR(16) NOT NULL, 
	priority VARCHAR(2) NOT NULL, 
	category VARCHAR(64), 
	source VARCHAR(16) NOT NULL, 
	source_name VARCHAR(200), 
	external_ref VARCHAR(500), 
	requester_id BIGINT, 
	organization_id BIGINT, 
	assignee_id BIGINT, 
	team_id BIGINT, 
	language VARCHAR(16), 
	tags JSONB NOT NULL, 
	duplicate_of_id BIGINT, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	status_changed_at TIMESTAMP WITH TIME ZONE, 
	first_response_at TIMESTAMP WITH TIME ZONE, 
	resolved_at TIMESTAMP WITH TIME ZONE, 
	closed_at TIMESTAMP WITH TIME ZONE, 
	version INTEGER NOT NULL, 
	impact VARCHAR(64), 
	channel_reference VARCHAR(64), 
	location BIGINT, 
	CONSTRAINT pk_tickets PRIMARY KEY (id), 
	CONSTRAINT uq_tickets_number UNIQUE (number), 
	CONSTRAINT fk_tickets_requester_id_contacts FOREIGN KEY(requester_id) REFERENCES contacts (id) ON DELETE SET NULL, 
	CONSTRAINT fk_tickets_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE SET NULL, 
	CONSTRAINT fk_tickets_assignee_id_agents FOREIGN KEY(assignee_id) REFERENCES agents (id) ON DELETE SET NULL, 
	CONSTRAINT fk_tickets_team_id_teams FOREIGN KEY(team_id) REFERENCES teams (id) ON DELETE SET NULL, 
	CONSTRAINT fk_tickets_duplicate_of_id_tickets FOREIGN KEY(duplicate_of_id) REFERENCES tickets (id) ON DELETE SET NULL, 
	CONSTRAINT fk_tickets_location_ref_locations FOREIGN KEY(location) REFERENCES ref_locations (id) ON DELETE SET NULL
);

CREATE INDEX ix_tickets_assignee_id_status_category ON tickets (assignee_id, status_category);

CREATE INDEX ix_tickets_created_at ON tickets (created_at);

CREATE INDEX ix_tickets_external_ref ON tickets (external_ref);

CREATE INDEX ix_tickets_impact ON tickets (impact);

CREATE INDEX ix_tickets_location ON tickets (location);

CREATE INDEX ix_tickets_requester_id ON tickets (requester_id);

CREATE INDEX ix_tickets_status_category_priority_updated_at ON tickets (status_category, priority, updated_at);

CREATE INDEX ix_tickets_status_status_changed_at ON tickets (status, status_changed_at);

CREATE INDEX ix_tickets_team_id_status_category ON tickets (team_id, status_category);

CREATE INDEX ix_tickets_type_status ON tickets (type, status);

CREATE INDEX ix_tickets_updated_at ON tickets (updated_at);

CREATE TABLE web_sessions (
	id BIGSERIAL NOT NULL, 
	secret_hash VARCHAR(64) NOT NULL, 
	agent_id BIGINT, 
	contact_id BIGINT, 
	csrf_token VARCHAR(64) NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	last_seen_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	revoked_at TIMESTAMP WITH TIME ZONE, 
	user_agent VARCHAR(300), 
	CONSTRAINT pk_web_sessions PRIMARY KEY (id), 
	CONSTRAINT uq_web_sessions_secret_hash UNIQUE (secret_hash), 
	CONSTRAINT fk_web_sessions_agent_id_agents FOREIGN KEY(agent_id) REFERENCES agents (id) ON DELETE CASCADE, 
	CONSTRAINT fk_web_sessions_contact_id_contacts FOREIGN KEY(contact_id) REFERENCES contacts (id) ON DELETE CASCADE
);

CREATE INDEX ix_web_sessions_agent_id ON web_sessions (agent_id);

CREATE INDEX ix_web_sessions_contact_id ON web_sessions (contact_id);

CREATE TABLE ai_decisions (
	id BIGSERIAL NOT NULL, 
	ticket_id BIGINT NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	provider VARCHAR(32) NOT NULL, 
	output JSONB NOT NULL, 
	confidence FLOAT, 
	explanation TEXT, 
	applied BOOLEAN NOT NULL, 
	overridden_by VARCHAR(200), 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	inputs_hash VARCHAR(64), 
	model VARCHAR(200), 
	latency_ms FLOAT, 
	tokens INTEGER, 
	review VARCHAR(16), 
	reviewed_by VARCHAR(200), 
	reviewed_at TIMESTAMP WITH TIME ZONE, 
	CONSTRAINT pk_ai_decisions PRIMARY KEY (id), 
	CONSTRAINT fk_ai_decisions_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
);

CREATE INDEX ix_ai_decisions_review_kind ON ai_decisions (review, kind);

CREATE INDEX ix_ai_decisions_ticket_id ON ai_decisions (ticket_id);

CREATE TABLE attachments (
	id BIGSERIAL NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	filename VARCHAR(255) NOT NULL, 
	content_type VARCHAR(127) NOT NULL, 
	size BIGINT NOT NULL, 
	ticket_id BIGINT, 
	comment_id BIGINT, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_attachments PRIMARY KEY (id), 
	CONSTRAINT fk_attachments_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
);

CREATE INDEX ix_attachments_comment_id ON attachments (comment_id);

CREATE INDEX ix_attachments_sha256 ON attachments (sha256);

CREATE INDEX ix_attachments_ticket_id ON attachments (ticket_id);

CREATE TABLE comments (
	id BIGSERIAL NOT NULL, 
	ticket_id BIGINT NOT NULL, 
	public BOOLEAN NOT NULL, 
	direction VARCHAR(8) NOT NULL, 
	channel VARCHAR(16) NOT NULL, 
	body TEXT NOT NULL, 
	body_html TEXT, 
	author_agent_id BIGINT, 
	author_contact_id BIGINT, 
	message_id VARCHAR(998), 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_comments PRIMARY KEY (id), 
	CONSTRAINT fk_comments_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE, 
	CONSTRAINT fk_comments_author_agent_id_agents FOREIGN KEY(author_agent_id) REFERENCES agents (id) ON DELETE SET NULL, 
	CONSTRAINT fk_comments_author_contact_id_contacts FOREIGN KEY(author_contact_id) REFERENCES contacts (id) ON DELETE SET NULL
);

CREATE INDEX ix_comments_author_agent_id ON comments (author_agent_id);

CREATE INDEX ix_comments_author_contact_id ON comments (author_contact_id);

CREATE INDEX ix_comments_message_id ON comments (message_id);

CREATE INDEX ix_comments_ticket_id ON comments (ticket_id);

CREATE TABLE intake_acks (
	id BIGSERIAL NOT NULL, 
	address VARCHAR(320) NOT NULL, 
	ticket_id BIGINT, 
	sent_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_intake_acks PRIMARY KEY (id), 
	CONSTRAINT fk_intake_acks_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
);

CREATE INDEX ix_intake_acks_address_sent_at ON intake_acks (address, sent_at);

CREATE TABLE intake_messages (
	id BIGSERIAL NOT NULL, 
	channel VARCHAR(16) NOT NULL, 
	source VARCHAR(200) NOT NULL, 
	external_id VARCHAR(998) NOT NULL, 
	raw BYTEA NOT NULL, 
	metadata JSONB NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	error TEXT, 
	ticket_id BIGINT, 
	received_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	processed_at TIMESTAMP WITH TIME ZONE, 
	CONSTRAINT pk_intake_messages PRIMARY KEY (id), 
	CONSTRAINT uq_intake_messages_channel_source_external_id UNIQUE (channel, source, external_id), 
	CONSTRAINT fk_intake_messages_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE SET NULL
);

CREATE INDEX ix_intake_messages_channel_external_id ON intake_messages (channel, external_id);

CREATE INDEX ix_intake_messages_state ON intake_messages (state);

CREATE INDEX ix_intake_messages_ticket_id ON intake_messages (ticket_id);

CREATE TABLE kb_article_sources (
	article_id BIGINT NOT NULL, 
	ticket_id BIGINT NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_kb_article_sources PRIMARY KEY (article_id, ticket_id), 
	CONSTRAINT fk_kb_article_sources_article_id_kb_articles FOREIGN KEY(article_id) REFERENCES kb_articles (id) ON DELETE CASCADE, 
	CONSTRAINT fk_kb_article_sources_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
);

CREATE INDEX ix_kb_article_sources_ticket_id ON kb_article_sources (ticket_id);

CREATE TABLE kb_feedback (
	id BIGSERIAL NOT NULL, 
	article_id BIGINT NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	ticket_id BIGINT, 
	contact_id BIGINT, 
	agent_id BIGINT, 
	query TEXT, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_kb_feedback PRIMARY KEY (id), 
	CONSTRAINT fk_kb_feedback_article_id_kb_articles FOREIGN KEY(article_id) REFERENCES kb_articles (id) ON DELETE CASCADE, 
	CONSTRAINT fk_kb_feedback_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE SET NULL, 
	CONSTRAINT fk_kb_feedback_contact_id_contacts FOREIGN KEY(contact_id) REFERENCES contacts (id) ON DELETE SET NULL, 
	CONSTRAINT fk_kb_feedback_agent_id_agents FOREIGN KEY(agent_id) REFERENCES agents (id) ON DELETE SET NULL
);

CREATE INDEX ix_kb_feedback_article_id ON kb_feedback (article_id);

CREATE TABLE notifications (
	id BIGSERIAL NOT NULL, 
	agent_id BIGINT NOT NULL, 
	ticket_id BIGINT, 
	kind VARCHAR(32) NOT NULL, 
	title VARCHAR(300) NOT NULL, 
	body TEXT, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	read_at TIMESTAMP WITH TIME ZONE, 
	CONSTRAINT pk_notifications PRIMARY KEY (id), 
	CONSTRAINT fk_notifications_agent_id_agents FOREIGN KEY(agent_id) REFERENCES agents (id) ON DELETE CASCADE, 
	CONSTRAINT fk_notifications_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
);

CREATE INDEX ix_notifications_agent_id_read_at_id ON notifications (agent_id, read_at, id);

CREATE INDEX ix_notifications_ticket_id ON notifications (ticket_id);

CREATE TABLE sla_timers (
	id BIGSERIAL NOT NULL, 
	ticket_id BIGINT NOT NULL, 
	metric VARCHAR(16) NOT NULL, 
	policy VARCHAR(64) NOT NULL, 
	state VARCHAR(12) NOT NULL, 
	target_seconds BIGINT, 
	elapsed_seconds BIGINT NOT NULL, 
	started_at TIMESTAMP WITH TIME ZONE, 
	due_at TIMESTAMP WITH TIME ZONE, 
	next_check_at TIMESTAMP WITH TIME ZONE, 
	pauses JSONB NOT NULL, 
	calendar VARCHAR(64), 
	running_since TIMESTAMP WITH TIME ZONE, 
	breached_at TIMESTAMP WITH TIME ZONE, 
	stopped_at TIMESTAMP WITH TIME ZONE, 
	fired JSONB, 
	CONSTRAINT pk_sla_timers PRIMARY KEY (id), 
	CONSTRAINT fk_sla_timers_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
);

CREATE INDEX ix_sla_timers_due_at ON sla_timers (due_at);

CREATE INDEX ix_sla_timers_next_check_at ON sla_timers (next_check_at);

CREATE INDEX ix_sla_timers_ticket_id ON sla_timers (ticket_id);

CREATE TABLE ticket_customer_complaint (
	ticket_id BIGINT NOT NULL, 
	order_number VARCHAR(32), 
	complaint_level VARCHAR(64), 
	compensation_amount NUMERIC(12, 2), 
	compensation_type VARCHAR(64), 
	customer_email VARCHAR(320), 
	customer_phone VARCHAR(40), 
	root_cause VARCHAR(64), 
	root_cause_notes TEXT, 
	order_date DATE, 
	product_url VARCHAR(2048), 
	order_snapshot JSONB, 
	CONSTRAINT pk_ticket_customer_complaint PRIMARY KEY (ticket_id), 
	CONSTRAINT fk_ticket_customer_complaint_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
);

CREATE INDEX ix_ticket_customer_complaint_complaint_level ON ticket_customer_complaint (complaint_level);

CREATE INDEX ix_ticket_customer_complaint_order_number ON ticket_customer_complaint (order_number);

CREATE TABLE ticket_events (
	id BIGSERIAL NOT NULL, 
	ticket_id BIGINT NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	actor VARCHAR(200) NOT NULL, 
	channel VARCHAR(16) NOT NULL, 
	action VARCHAR(32) NOT NULL, 
	field VARCHAR(64), 
	old_value JSONB, 
	new_value JSONB, 
	CONSTRAINT pk_ticket_events PRIMARY KEY (id), 
	CONSTRAINT fk_ticket_events_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
);

CREATE INDEX ix_ticket_events_ticket_id ON ticket_events (ticket_id);

CREATE TABLE ticket_it_support (
	ticket_id BIGINT NOT NULL, 
	asset_number VARCHAR(32), 
	operating_system VARCHAR(64), 
	os_version VARCHAR(40), 
	software JSONB, 
	remote_address VARCHAR(255), 
	error_code VARCHAR(64), 
	error_screenshot JSONB, 
	users_affected BIGINT, 
	CONSTRAINT pk_ticket_it_support PRIMARY KEY (ticket_id), 
	CONSTRAINT fk_ticket_it_support_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
);

CREATE INDEX ix_ticket_it_support_asset_number ON ticket_it_support (asset_number);

CREATE INDEX ix_ticket_it_support_error_code ON ticket_it_support (error_code);

CREATE TABLE ticket_links (
	id BIGSERIAL NOT NULL, 
	ticket_id BIGINT NOT NULL, 
	other_id BIGINT NOT NULL, 
	relation VARCHAR(16) NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	score FLOAT, 
	CONSTRAINT pk_ticket_links PRIMARY KEY (id), 
	CONSTRAINT uq_ticket_links_ticket_id_other_id_relation UNIQUE (ticket_id, other_id, relation), 
	CONSTRAINT fk_ticket_links_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE, 
	CONSTRAINT fk_ticket_links_other_id_tickets FOREIGN KEY(other_id) REFERENCES tickets (id) ON DELETE CASCADE
);

CREATE INDEX ix_ticket_links_other_id ON ticket_links (other_id);

CREATE INDEX ix_ticket_links_ticket_id ON ticket_links (ticket_id);

CREATE TABLE ticket_ratings (
	ticket_id BIGINT NOT NULL, 
	contact_id BIGINT, 
	score INTEGER NOT NULL, 
	comment TEXT, 
	rated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_ticket_ratings PRIMARY KEY (ticket_id), 
	CONSTRAINT fk_ticket_ratings_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE, 
	CONSTRAINT fk_ticket_ratings_contact_id_contacts FOREIGN KEY(contact_id) REFERENCES contacts (id) ON DELETE SET NULL
);

CREATE INDEX ix_ticket_ratings_contact_id ON ticket_ratings (contact_id);

CREATE INDEX ix_ticket_ratings_rated_at ON ticket_ratings (rated_at);

CREATE TABLE triage_jobs (
	ticket_id BIGINT NOT NULL, 
	given JSONB NOT NULL, 
	initial JSONB NOT NULL, 
	run_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	attempts INTEGER NOT NULL, 
	locked_until TIMESTAMP WITH TIME ZONE, 
	last_error TEXT, 
	CONSTRAINT pk_triage_jobs PRIMARY KEY (ticket_id), 
	CONSTRAINT fk_triage_jobs_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE
);

CREATE INDEX ix_triage_jobs_run_at ON triage_jobs (run_at);

CREATE TABLE sla_events (
	id BIGSERIAL NOT NULL, 
	timer_id BIGINT NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	escalation INTEGER, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	detail JSONB, 
	CONSTRAINT pk_sla_events PRIMARY KEY (id), 
	CONSTRAINT uq_sla_events_timer_id_kind_escalation UNIQUE (timer_id, kind, escalation), 
	CONSTRAINT fk_sla_events_timer_id_sla_timers FOREIGN KEY(timer_id) REFERENCES sla_timers (id) ON DELETE CASCADE
);

CREATE INDEX ix_sla_events_timer_id ON sla_events (timer_id);

CREATE TABLE ticket_admin_request (
	ticket_id BIGINT NOT NULL, 
	request_kind VARCHAR(64), 
	cost_centre VARCHAR(12), 
	approver BIGINT, 
	needed_by DATE, 
	estimated_cost NUMERIC(12, 2), 
	justification TEXT, 
	systems JSONB, 
	quote BIGINT, 
	CONSTRAINT pk_ticket_admin_request PRIMARY KEY (ticket_id), 
	CONSTRAINT fk_ticket_admin_request_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE, 
	CONSTRAINT fk_ticket_admin_request_approver_agents FOREIGN KEY(approver) REFERENCES agents (id) ON DELETE SET NULL, 
	CONSTRAINT fk_ticket_admin_request_quote_attachments FOREIGN KEY(quote) REFERENCES attachments (id) ON DELETE SET NULL
);

CREATE INDEX ix_ticket_admin_request_cost_centre ON ticket_admin_request (cost_centre);

CREATE INDEX ix_ticket_admin_request_request_kind ON ticket_admin_request (request_kind);

CREATE TABLE ticket_equipment_maintenance (
	ticket_id BIGINT NOT NULL, 
	equipment BIGINT, 
	model VARCHAR(80), 
	serial_number VARCHAR(64), 
	fault_code VARCHAR(32), 
	maintenance_type VARCHAR(64), 
	spare_parts JSONB, 
	downtime BIGINT, 
	safety_risk BOOLEAN, 
	scheduled_for TIMESTAMP WITH TIME ZONE, 
	labour_cost NUMERIC(10, 2), 
	service_report BIGINT, 
	CONSTRAINT pk_ticket_equipment_maintenance PRIMARY KEY (ticket_id), 
	CONSTRAINT fk_ticket_equipment_maintenance_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id) ON DELETE CASCADE, 
	CONSTRAINT fk_ticket_equipment_maintenance_equipment_ref_assets FOREIGN KEY(equipment) REFERENCES ref_assets (id) ON DELETE SET NULL, 
	CONSTRAINT fk_ticket_equipment_maintenance_service_report_attachments FOREIGN KEY(service_report) REFERENCES attachments (id) ON DELETE SET NULL
);

CREATE INDEX ix_ticket_equipment_maintenance_equipment ON ticket_equipment_maintenance (equipment);

CREATE INDEX ix_ticket_equipment_maintenance_maintenance_type ON ticket_equipment_maintenance (maintenance_type);

CREATE INDEX ix_ticket_equipment_maintenance_serial_number ON ticket_equipment_maintenance (serial_number);
