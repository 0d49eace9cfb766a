package demo

import (
	"strconv"
	"strings"

	"github.com/webcare/webcare/internal/store"
)

// Tones of a template variant.
const (
	formal = "formal"
	casual = "casual"
)

func variant(lang, tone, body string) store.TemplateVariant {
	return store.TemplateVariant{Language: lang, Tone: tone, Body: body}
}

// templates are Heron's canned replies. The apology promises attention, not
// money: a sincere sorry turns an angry customer around as well as
// compensation does (seed 000). Replies on X are signed ^Name, as webcare
// teams do, so the customer knows a person answered.
func templates() []store.Template {
	return []store.Template{
		{Name: "Greeting", Shortcut: "hello", Variants: []store.TemplateVariant{
			variant("nl", formal, "Goedendag {{contact.name}}, dank u wel voor uw bericht. U spreekt met {{agent.name}} van Heron Airlines. Waarmee kan ik u helpen?"),
			variant("nl", casual, "Hoi {{contact.name}}! Je spreekt met {{agent.name}} van Heron. Waarmee kan ik je helpen?"),
			variant("en", formal, "Hello {{contact.name}}, thank you for contacting Heron Airlines. My name is {{agent.name}}; how may I help you?"),
			variant("en", casual, "Hi {{contact.name}}! {{agent.name}} here from Heron. What can I do for you?"),
			variant("de", formal, "Guten Tag {{contact.name}}, vielen Dank für Ihre Nachricht. Hier ist {{agent.name}} von Heron Airlines. Wie kann ich Ihnen helfen?"),
			variant("de", casual, "Hallo {{contact.name}}! Hier ist {{agent.name}} von Heron. Wie kann ich dir helfen?"),
			variant("fr", "", "Bonjour {{contact.name}}, merci pour votre message. Ici {{agent.name}}, de Heron Airlines. Comment puis-je vous aider ?"),
			variant("es", "", "¡Hola, {{contact.name}}! Soy {{agent.name}}, de Heron Airlines. ¿En qué puedo ayudarte?"),
			variant("it", "", "Buongiorno {{contact.name}}, sono {{agent.name}} di Heron Airlines. Come posso aiutarla?"),
			variant("pt", "", "Olá {{contact.name}}! Fala {{agent.name}}, da Heron Airlines. Como posso ajudar?"),
			variant("ja", "", "{{contact.name}}様、Heron Airlinesの{{agent.name}}です。お問い合わせありがとうございます。どのようなご用件でしょうか？"),
		}},
		{Name: "Sincere apology", Shortcut: "sorry", Variants: []store.TemplateVariant{
			variant("nl", formal, "Het spijt ons oprecht, {{contact.name}}. Zo hoort een reis met Heron niet te gaan, en ik begrijp uw frustratie goed. Ik zoek het persoonlijk voor u uit. ^{{agent.name}}"),
			variant("nl", casual, "Sorry {{contact.name}}, dit had echt niet zo mogen gaan. Balen voor je! Ik ga het nu voor je uitzoeken. ^{{agent.name}}"),
			variant("en", formal, "We are truly sorry, {{contact.name}}. This is not the journey you should have had with us, and I understand your frustration. I will look into it for you personally. ^{{agent.name}}"),
			variant("en", casual, "So sorry about this, {{contact.name}}, that really shouldn't have happened. Let me sort it out for you right now. ^{{agent.name}}"),
			variant("de", formal, "Das tut uns aufrichtig leid, {{contact.name}}. So sollte eine Reise mit Heron nicht verlaufen, und ich verstehe Ihren Ärger. Ich kümmere mich persönlich darum. ^{{agent.name}}"),
			variant("de", casual, "Das tut mir echt leid, {{contact.name}}, das hätte nicht passieren dürfen. Ich kümmere mich sofort drum. ^{{agent.name}}"),
			variant("fr", "", "Nous sommes sincèrement désolés, {{contact.name}}. Ce n'est pas le voyage que vous méritiez, et je comprends votre agacement. Je m'en occupe personnellement. ^{{agent.name}}"),
			variant("es", "", "Lo sentimos de verdad, {{contact.name}}. No es el viaje que merecías y entiendo tu enfado. Me ocupo personalmente de ello. ^{{agent.name}}"),
			variant("it", "", "Ci dispiace davvero, {{contact.name}}. Non è il viaggio che meritava e capisco la sua frustrazione. Me ne occupo personalmente. ^{{agent.name}}"),
			variant("pt", "", "Lamentamos muito, {{contact.name}}. Não é a viagem que merecia e compreendo a sua frustração. Vou tratar disto pessoalmente. ^{{agent.name}}"),
			variant("ja", "", "{{contact.name}}様、ご不便をおかけして誠に申し訳ございません。私{{agent.name}}が責任を持って確認いたします。"),
		}},
		{Name: "De-escalate", Shortcut: "calm", Variants: []store.TemplateVariant{
			variant("nl", "", "Ik lees dat je boos bent, {{contact.name}}, en dat snap ik. Kan ik je helpen? Vertel me wat er is gebeurd, dan gaan we het samen oplossen. ^{{agent.name}}"),
			variant("en", "", "I can read that you're angry, {{contact.name}}, and I understand why. Can I help? Tell me what happened and we'll fix it together. ^{{agent.name}}"),
			variant("de", "", "Ich lese, dass Sie verärgert sind, {{contact.name}}, und das verstehe ich. Kann ich helfen? Erzählen Sie mir, was passiert ist. ^{{agent.name}}"),
			variant("fr", "", "Je lis que vous êtes en colère, {{contact.name}}, et je le comprends. Puis-je vous aider ? Dites-moi ce qui s'est passé. ^{{agent.name}}"),
			variant("es", "", "Leo que estás enfadado, {{contact.name}}, y lo entiendo. ¿Te puedo ayudar? Cuéntame qué ha pasado. ^{{agent.name}}"),
			variant("it", "", "Leggo che è arrabbiato, {{contact.name}}, e lo capisco. Posso aiutarla? Mi racconti cosa è successo. ^{{agent.name}}"),
			variant("pt", "", "Percebo que está zangado, {{contact.name}}, e compreendo. Posso ajudar? Conte-me o que aconteceu. ^{{agent.name}}"),
		}},
		{Name: "Move to DM", Shortcut: "dm", Variants: []store.TemplateVariant{
			variant("nl", formal, "Wilt u ons uw boekingscode via een privébericht sturen, {{contact.name}}? Dan kijken we direct met u mee. ^{{agent.name}}"),
			variant("nl", casual, "Stuur je ons even je boekingscode via DM, {{contact.name}}? Dan zoeken we het meteen voor je uit. ^{{agent.name}}"),
			variant("en", formal, "Could you send us your booking code by DM, {{contact.name}}? Then we can look into it straight away. ^{{agent.name}}"),
			variant("en", casual, "Could you DM us your booking code, {{contact.name}}? We'll take it from there! ^{{agent.name}}"),
			variant("de", "", "Könnten Sie uns Ihren Buchungscode per Direktnachricht schicken, {{contact.name}}? Dann schauen wir sofort nach. ^{{agent.name}}"),
			variant("fr", "", "Pourriez-vous nous envoyer votre code de réservation en message privé, {{contact.name}} ? Nous regardons cela tout de suite. ^{{agent.name}}"),
			variant("es", "", "¿Nos envías tu código de reserva por mensaje privado, {{contact.name}}? Así lo revisamos enseguida. ^{{agent.name}}"),
			variant("it", "", "Può inviarci il codice di prenotazione in messaggio privato, {{contact.name}}? Così verifichiamo subito. ^{{agent.name}}"),
			variant("pt", "", "Pode enviar-nos o seu código de reserva por mensagem privada, {{contact.name}}? Assim verificamos já. ^{{agent.name}}"),
		}},
		{Name: "Checking for you", Shortcut: "check", Variants: []store.TemplateVariant{
			variant("nl", formal, "Dank u voor uw vraag, {{contact.name}}. Ik zoek het voor u uit en kom er binnen het uur bij u op terug. ^{{agent.name}}"),
			variant("nl", casual, "Goeie vraag, {{contact.name}}! Ik zoek het even voor je uit en laat het je binnen het uur weten. ^{{agent.name}}"),
			variant("en", formal, "Thank you for your question, {{contact.name}}. I am looking into it and will get back to you within the hour. ^{{agent.name}}"),
			variant("en", casual, "Good question, {{contact.name}}! Let me check that for you, I'll get back to you within the hour. ^{{agent.name}}"),
			variant("de", "", "Danke für Ihre Frage, {{contact.name}}. Ich kläre das für Sie und melde mich innerhalb einer Stunde. ^{{agent.name}}"),
			variant("fr", "", "Merci pour votre question, {{contact.name}}. Je vérifie et je reviens vers vous dans l'heure. ^{{agent.name}}"),
			variant("es", "", "Gracias por tu pregunta, {{contact.name}}. Lo compruebo y te digo algo en menos de una hora. ^{{agent.name}}"),
			variant("it", "", "Grazie per la domanda, {{contact.name}}. Verifico e le rispondo entro un'ora. ^{{agent.name}}"),
			variant("pt", "", "Obrigado pela pergunta, {{contact.name}}. Vou verificar e respondo dentro de uma hora. ^{{agent.name}}"),
			variant("ja", "", "{{contact.name}}様、お問い合わせありがとうございます。確認のうえ、1時間以内にご連絡いたします。"),
		}},
		{Name: "Delay information", Shortcut: "delay", Variants: []store.TemplateVariant{
			variant("nl", formal, "Excuses voor de vertraging, {{contact.name}}. De actuele vertrektijd en gate vindt u op heron.example/status, en de Heron-app waarschuwt u bij elke wijziging. Heeft u een aansluitende vlucht? Laat het ons weten, dan kijken we met u mee. ^{{agent.name}}"),
			variant("nl", casual, "Sorry voor de vertraging, {{contact.name}}! De actuele vertrektijd en gate staan op heron.example/status, en de app geeft je een seintje als er iets verandert. Heb je een aansluiting? Laat het weten, dan kijken we mee. ^{{agent.name}}"),
			variant("en", "", "Sorry for the delay, {{contact.name}}. You'll find the latest departure time and gate at heron.example/status, and the Heron app will tell you about any change. Worried about a connection? Let us know and we'll check it for you. ^{{agent.name}}"),
			variant("de", "", "Entschuldigen Sie die Verspätung, {{contact.name}}. Die aktuelle Abflugzeit und das Gate finden Sie unter heron.example/status; die Heron-App informiert Sie über jede Änderung. Haben Sie einen Anschlussflug? Sagen Sie uns Bescheid. ^{{agent.name}}"),
			variant("fr", "", "Désolés pour ce retard, {{contact.name}}. L'heure de départ et la porte à jour sont sur heron.example/status, et l'application Heron vous prévient de tout changement. Une correspondance ? Dites-le-nous. ^{{agent.name}}"),
			variant("es", "", "Perdona el retraso, {{contact.name}}. La hora de salida y la puerta actualizadas están en heron.example/status, y la app de Heron te avisa de cualquier cambio. ¿Tienes una conexión? Dínoslo. ^{{agent.name}}"),
			variant("it", "", "Ci scusi per il ritardo, {{contact.name}}. Orario e gate aggiornati sono su heron.example/status e l'app Heron la avvisa di ogni cambiamento. Ha una coincidenza? Ce lo dica. ^{{agent.name}}"),
			variant("pt", "", "Pedimos desculpa pelo atraso, {{contact.name}}. A hora de partida e a porta atualizadas estão em heron.example/status e a app da Heron avisa de qualquer alteração. Tem uma ligação? Diga-nos. ^{{agent.name}}"),
		}},
		{Name: "Lost baggage", Shortcut: "bag", Variants: []store.TemplateVariant{
			variant("nl", "", "Wat vervelend dat je koffer er niet is, {{contact.name}}. Meld hem bij de bagagebalie of op heron.example/bagage en stuur ons je dossiernummer via DM. Wij volgen hem op de voet en laten hem thuisbezorgen. Jouw referentie bij ons: #{{conversation.id}}. ^{{agent.name}}"),
			variant("en", "", "So sorry your bag didn't arrive, {{contact.name}}. Please report it at the baggage desk or on heron.example/baggage and DM us your file reference. We'll track it closely and have it delivered to you. Your reference with us: #{{conversation.id}}. ^{{agent.name}}"),
			variant("de", "", "Ärgerlich, dass Ihr Koffer fehlt, {{contact.name}}. Bitte melden Sie ihn am Gepäckschalter oder unter heron.example/gepaeck und schicken Sie uns die Vorgangsnummer per DM. Wir verfolgen ihn und lassen ihn zustellen. Ihre Referenz: #{{conversation.id}}. ^{{agent.name}}"),
			variant("fr", "", "Désolés que votre valise ne soit pas arrivée, {{contact.name}}. Déclarez-la au comptoir bagages ou sur heron.example/bagages et envoyez-nous le numéro de dossier en message privé. Nous la suivons et vous la faisons livrer. Votre référence : #{{conversation.id}}. ^{{agent.name}}"),
			variant("es", "", "Sentimos que tu maleta no haya llegado, {{contact.name}}. Declárala en el mostrador de equipajes o en heron.example/equipaje y envíanos el número de expediente por mensaje privado. La seguimos y te la llevamos a casa. Tu referencia: #{{conversation.id}}. ^{{agent.name}}"),
			variant("it", "", "Ci dispiace che la sua valigia non sia arrivata, {{contact.name}}. La denunci al banco bagagli o su heron.example/bagagli e ci mandi il numero di pratica in privato. La seguiamo noi e gliela facciamo consegnare. Il suo riferimento: #{{conversation.id}}. ^{{agent.name}}"),
			variant("pt", "", "Lamentamos que a sua mala não tenha chegado, {{contact.name}}. Declare-a no balcão de bagagens ou em heron.example/bagagens e envie-nos o número do processo por mensagem privada. Acompanhamos a mala e entregamo-la em sua casa. A sua referência: #{{conversation.id}}. ^{{agent.name}}"),
		}},
		{Name: "Thanks for the compliment", Shortcut: "thanks", Variants: []store.TemplateVariant{
			variant("nl", formal, "Hartelijk dank voor uw mooie woorden, {{contact.name}}. Wij geven uw compliment graag door aan de bemanning. ^{{agent.name}}"),
			variant("nl", casual, "Wat leuk om te lezen, {{contact.name}}! Dank je wel, we geven je compliment door aan de crew 💙 ^{{agent.name}}"),
			variant("en", formal, "Thank you very much for your kind words, {{contact.name}}. We will gladly pass them on to the crew. ^{{agent.name}}"),
			variant("en", casual, "That's lovely to read, {{contact.name}}, thank you! We'll pass your compliment on to the crew 💙 ^{{agent.name}}"),
			variant("de", "", "Vielen Dank für das schöne Feedback, {{contact.name}}! Wir geben Ihr Lob gern an die Crew weiter. ^{{agent.name}}"),
			variant("fr", "", "Merci beaucoup pour ce beau message, {{contact.name}} ! Nous transmettons vos compliments à l'équipage. ^{{agent.name}}"),
			variant("es", "", "¡Muchas gracias por tus palabras, {{contact.name}}! Se lo haremos llegar a la tripulación. ^{{agent.name}}"),
			variant("it", "", "Grazie mille per le belle parole, {{contact.name}}! Le giriamo volentieri all'equipaggio. ^{{agent.name}}"),
			variant("pt", "", "Muito obrigado pelas palavras simpáticas, {{contact.name}}! Vamos transmiti-las à tripulação. ^{{agent.name}}"),
			variant("ja", "", "{{contact.name}}様、温かいお言葉をありがとうございます！客室乗務員にも必ず伝えます。"),
			variant("ko", "", "{{contact.name}}님, 따뜻한 말씀 감사합니다! 승무원들에게 꼭 전하겠습니다."),
		}},
	}
}

// fillTemplate renders a variant for one conversation, the way an agent's
// reply box would.
func fillTemplate(body, contactName, agentName string, conversationID int64) string {
	return strings.NewReplacer(
		"{{contact.name}}", contactName,
		"{{agent.name}}", agentName,
		"{{conversation.id}}", strconv.FormatInt(conversationID, 10),
	).Replace(body)
}

// templateVariant picks the text for lang in tone, falling back to any tone
// in lang, then to English. The second result is false if the template has
// neither.
func templateVariant(t store.Template, lang, tone string) (string, bool) {
	for _, l := range []string{lang, "en"} {
		var other string
		for _, v := range t.Variants {
			if v.Language != l {
				continue
			}
			if v.Tone == tone || tone == "" {
				return v.Body, true
			}
			if other == "" {
				other = v.Body
			}
		}
		if other != "" {
			return other, true
		}
	}
	return "", false
}
