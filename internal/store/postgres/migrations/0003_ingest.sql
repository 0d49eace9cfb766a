-- webcare_ingest stores one inbound message: dedupe on (channel, platform
-- id), the contact by (platform, external id) or a new one, then the thread
-- (the message it replies to, else the contact's open conversation on the
-- channel with the same visibility, else a new one). It is the embedded
-- engine's ingestOne, moved next to the data so that a whole batch travels
-- to the server as one pipelined round trip instead of several per message.
--
-- Messages may arrive out of order (polled platforms page newest first): an
-- older one never moves the conversation back, and the wait counts from the
-- oldest unanswered message. A resolved, pending or snoozed conversation
-- reopens.
--
-- The caller holds transaction advisory locks on the message's dedupe key
-- and the author's identity, so concurrent batches that share either take
-- turns instead of racing to insert the same rows.
CREATE FUNCTION webcare_ingest(
    p_channel_id bigint, p_platform_id text, p_platform text, p_external_id text,
    p_handle text, p_name text, p_body text, p_preview text, p_reply_to text,
    p_private boolean, p_language text, p_subject text,
    p_sent_at timestamptz, p_received_at timestamptz, p_processed boolean,
    OUT o_message_id bigint, OUT o_conversation_id bigint, OUT o_contact_id bigint,
    OUT o_duplicate boolean, OUT o_new_conversation boolean, OUT o_new_contact boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_visibility text := CASE WHEN p_private THEN 'private' ELSE 'public' END;
    v_identity   bigint;
    v_handle     text;
    v_display    text;
    v_status     text;
    v_reply_conv bigint;
    v_reply_stat text;
BEGIN
    o_duplicate := false;
    o_new_conversation := false;
    o_new_contact := false;

    -- 1. Dedupe: a re-delivered webhook finds the message it already made.
    IF p_platform_id <> '' THEN
        SELECT m.id, m.conversation_id, c.contact_id INTO o_message_id, o_conversation_id, o_contact_id
        FROM messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE m.channel_id = p_channel_id AND m.platform_id = p_platform_id;
        IF FOUND THEN
            o_duplicate := true;
            RETURN;
        END IF;
    END IF;

    -- 2. The contact, found by identity (with their open conversation), or
    -- created.
    SELECT i.id, i.contact_id, i.handle, i.display_name INTO v_identity, o_contact_id, v_handle, v_display
    FROM identities i WHERE i.platform = p_platform AND i.external_id = p_external_id;
    IF NOT FOUND THEN
        INSERT INTO contacts (name, language, created_at, updated_at)
        VALUES (COALESCE(NULLIF(p_name, ''), p_handle), p_language, p_received_at, p_received_at)
        RETURNING id INTO o_contact_id;
        INSERT INTO identities (contact_id, platform, external_id, handle, display_name, created_at)
        VALUES (o_contact_id, p_platform, p_external_id, p_handle, p_name, p_received_at);
        o_new_contact := true;
    ELSE
        IF (p_handle <> '' AND p_handle <> v_handle) OR (p_name <> '' AND p_name <> v_display) THEN
            -- People rename themselves; the identity follows.
            UPDATE identities SET handle = COALESCE(NULLIF(p_handle, ''), v_handle),
                display_name = COALESCE(NULLIF(p_name, ''), v_display)
            WHERE id = v_identity;
        END IF;
        SELECT c.id, c.status INTO o_conversation_id, v_status
        FROM conversations c
        WHERE c.contact_id = o_contact_id AND c.channel_id = p_channel_id AND c.visibility = v_visibility AND c.status <> 'resolved'
        ORDER BY c.id DESC LIMIT 1;
    END IF;

    -- 3. Threading: the message it replies to wins, if it is the same
    -- person's and as public or private as this one.
    IF p_reply_to <> '' THEN
        SELECT c.id, c.status INTO v_reply_conv, v_reply_stat
        FROM messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE m.channel_id = p_channel_id AND m.platform_id = p_reply_to
          AND c.contact_id = o_contact_id AND c.visibility = v_visibility;
        IF FOUND THEN
            o_conversation_id := v_reply_conv;
            v_status := v_reply_stat;
        END IF;
    END IF;
    IF o_conversation_id IS NULL THEN
        INSERT INTO conversations (channel_id, contact_id, visibility, status, language, subject, waiting_since,
            last_message_at, last_preview, message_count, created_at, updated_at)
        VALUES (p_channel_id, o_contact_id, v_visibility, 'new', p_language, p_subject, p_sent_at,
            p_sent_at, p_preview, 1, p_received_at, p_received_at)
        RETURNING id INTO o_conversation_id;
        o_new_conversation := true;
    END IF;

    -- 4. The message itself, and the conversation's summary.
    INSERT INTO messages (conversation_id, channel_id, direction, body, platform_id, reply_to, delivery, sent_at, created_at, processed)
    VALUES (o_conversation_id, p_channel_id, 'in', p_body, NULLIF(p_platform_id, ''), p_reply_to, 'received', p_sent_at, p_received_at, p_processed)
    RETURNING id INTO o_message_id;
    IF o_new_conversation THEN
        RETURN;
    END IF;
    IF v_status IN ('resolved', 'pending', 'snoozed') THEN
        UPDATE conversations SET last_message_at = GREATEST(last_message_at, p_sent_at),
            last_preview = CASE WHEN p_sent_at >= last_message_at THEN p_preview ELSE last_preview END,
            message_count = message_count + 1,
            waiting_since = LEAST(COALESCE(waiting_since, p_sent_at), p_sent_at),
            language = CASE WHEN language = '' THEN p_language ELSE language END,
            updated_at = p_received_at, status = 'open', snoozed_until = NULL
        WHERE id = o_conversation_id;
    ELSE
        UPDATE conversations SET last_message_at = GREATEST(last_message_at, p_sent_at),
            last_preview = CASE WHEN p_sent_at >= last_message_at THEN p_preview ELSE last_preview END,
            message_count = message_count + 1,
            waiting_since = LEAST(COALESCE(waiting_since, p_sent_at), p_sent_at),
            language = CASE WHEN language = '' THEN p_language ELSE language END,
            updated_at = p_received_at
        WHERE id = o_conversation_id;
    END IF;
END
$$;
